/* proc.h -- a phase's processes: spawn, signal, reap.
 *
 * A phase runs as its own process group (the leader's pid is the group id),
 * so one kill(-pgid) reaches the script and every process it started that
 * stayed in the group, grandchildren included. Three mechanisms keep
 * design invariant 5 (no orphans, no zombies):
 *
 *   - a shim leads the group: a forked copy of the server that forks the
 *     command and waits for it. PR_SET_PDEATHSIG gives the shim SIGUSR1
 *     when phasestream dies (even by SIGKILL), and the shim then kills the
 *     whole group. (The "parent" of PR_SET_PDEATHSIG is the forking thread;
 *     runner threads live as long as the process.) The command itself has
 *     PR_SET_PDEATHSIG(SIGKILL) should the shim be killed;
 *   - group kills: after the leader exits, after a timeout and on cancel,
 *     the whole group gets SIGTERM and, after the grace period, SIGKILL;
 *   - the process is a child subreaper (PR_SET_CHILD_SUBREAPER), so members
 *     of a group whose leader died are re-parented to phasestream, and
 *     proc_reap_group() collects them instead of leaving zombies to an init
 *     that may be slow to reap.
 *
 * A process that leaves its group on purpose (setsid, setpgid) is out of
 * reach of the group kills. Two more mechanisms cover it:
 *
 *   - orphans: once its parent is gone it is re-parented to phasestream
 *     (the subreaper), which reaps it when it exits: proc_reap_orphans()
 *     collects every child that is not a phase's leader;
 *   - escapees: every phase process carries SESSION_ID=<its session> in its
 *     environment, and proc_end_escapees() kills, with their descendants,
 *     the children of phasestream that carry a session's marker, before the
 *     session's terminal event. One that also rewrites its environment, or
 *     whose parent outside the group is still alive when its session ends
 *     (a daemon of a daemon), is beyond this: systemd's KillMode=control-
 *     group ends those when the service stops.
 *
 * Leaders are registered from fork to reaping, so that the orphan sweep
 * never takes a status a runner waits for. */
#ifndef PHASESTREAM_PROC_H
#define PHASESTREAM_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct proc {
    pid_t pid;   /* the shim: group leader, and the group id */
    int out_fd;  /* read end of its stdout, non-blocking */
    int err_fd;  /* read end of its stderr, non-blocking */
    int pid_fd;  /* pidfd of the leader (readable when it exits), or -1 */
    bool reaped; /* the leader's status was collected */
    int status;  /* wait status, valid when reaped */
};

/* Makes the process a child subreaper; call once at start-up. */
void proc_init(void);

/* Resolves a command as proc_spawn() will: a name with a slash as is, a
 * bare name along the PATH in envp (a default PATH when it has none). Fills
 * out with the path found; returns 0, or an errno value (ENOENT, EACCES). */
int proc_find(const char *name, char *const envp[], char *out, size_t len);

/* Finds argv[0] (PATH lookup for a bare name, using the PATH in envp),
 * starts it in a new process group with cwd, envp, stdin from /dev/null and
 * stdout/stderr to pipes. On failure returns an errno value and fills err
 * with a message naming the command; 0 on success. */
int proc_spawn(struct proc *p, char *const argv[], char *const envp[], const char *cwd, char *err,
               size_t errlen);

/* Sends sig to the whole group. */
void proc_signal_group(const struct proc *p, int sig);
/* Does any process of the group still exist (zombies of ours included)? */
bool proc_group_alive(const struct proc *p);
/* Collects the leader if it has exited (non-blocking); true once reaped. */
bool proc_reap_leader(struct proc *p);
/* Collects any exited member of the group (re-parented to us). */
void proc_reap_group(const struct proc *p);
/* Closes the pipes and the pidfd. */
void proc_close(struct proc *p);

/* Reaps every exited child that is not a registered leader: processes that
 * left their group and were re-parented to phasestream. Thread-safe. */
void proc_reap_orphans(void);

/* Kills (SIGKILL), with their descendants, the children of phasestream
 * that are not leaders and whose environment holds env_entry (for example
 * "SESSION_ID=abc..."), and reaps them. Returns how many it killed.
 * Thread-safe. */
int proc_end_escapees(const char *env_entry);

#endif
