/* proc.c -- a phase's processes: see proc.h. */
#include "proc.h"
#include "log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

void proc_init(void)
{
    (void)prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
}

/* ---- the leaders, and the children that are not ---- */

#define PROC_MAX_CHILDREN 4096 /* looked at per sweep; the rest wait for the next */
#define PROC_MAX_SWEEPS   64   /* of one session's escapees (a fork bomb could outrun them) */

/* The live leaders (shims) this process forked, under proc_lock. */
static pthread_mutex_t proc_lock = PTHREAD_MUTEX_INITIALIZER;
static pid_t *proc_leaders;
static size_t proc_nleaders, proc_capleaders;

static void proc_leader_add(pid_t pid)
{
    if (proc_nleaders == proc_capleaders) {
        size_t cap = proc_capleaders ? proc_capleaders * 2 : 16;
        pid_t *n = realloc(proc_leaders, cap * sizeof(*n));
        if (!n)
            abort();
        proc_leaders = n;
        proc_capleaders = cap;
    }
    proc_leaders[proc_nleaders++] = pid;
}

static void proc_leader_remove(pid_t pid)
{
    pthread_mutex_lock(&proc_lock);
    for (size_t i = 0; i < proc_nleaders; i++) {
        if (proc_leaders[i] == pid) {
            proc_leaders[i] = proc_leaders[--proc_nleaders];
            break;
        }
    }
    pthread_mutex_unlock(&proc_lock);
}

static bool proc_is_leader(pid_t pid)
{
    for (size_t i = 0; i < proc_nleaders; i++)
        if (proc_leaders[i] == pid)
            return true;
    return false;
}

/* The children of process pid (every thread's), at most max of them. */
static size_t proc_children(pid_t pid, pid_t *out, size_t max)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
    DIR *d = opendir(path);
    if (!d)
        return 0;
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL && n < max) {
        if (de->d_name[0] == '.')
            continue;
        char file[128];
        snprintf(file, sizeof(file), "/proc/%d/task/%.20s/children", (int)pid, de->d_name);
        FILE *f = fopen(file, "re");
        if (!f)
            continue;
        long c;
        while (n < max && fscanf(f, "%ld", &c) == 1)
            out[n++] = (pid_t)c;
        fclose(f);
    }
    closedir(d);
    return n;
}

/* Does process pid's environment hold the entry "NAME=value"? */
static bool proc_env_has(pid_t pid, const char *entry)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/environ", (int)pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return false;
    size_t n = strlen(entry), at = 0;
    bool found = false, start = true;
    int c;
    /* Entries are NUL-separated: match entry + NUL from an entry's start. */
    while (!found && (c = getc(f)) != EOF) {
        if (start && at < n && c == (unsigned char)entry[at]) {
            at++;
        } else if (start && at == n && c == 0) {
            found = true;
        } else {
            start = c == 0;
            at = 0;
        }
    }
    fclose(f);
    return found;
}

void proc_reap_orphans(void)
{
    static pid_t kids[PROC_MAX_CHILDREN];
    pthread_mutex_lock(&proc_lock);
    size_t n = proc_children(getpid(), kids, PROC_MAX_CHILDREN);
    for (size_t i = 0; i < n; i++)
        if (!proc_is_leader(kids[i]))
            (void)waitpid(kids[i], NULL, WNOHANG);
    pthread_mutex_unlock(&proc_lock);
}

/* SIGKILL to pid and, first, to its descendants (a tree walk). */
static void proc_kill_tree(pid_t pid, int depth)
{
    pid_t kids[256];
    size_t n = depth < 32 ? proc_children(pid, kids, 256) : 0;
    kill(pid, SIGSTOP); /* no new children while we look */
    for (size_t i = 0; i < n; i++)
        proc_kill_tree(kids[i], depth + 1);
    kill(pid, SIGKILL);
}

/* Sweeps until one finds no escapee: the descendants a tree walk did not
 * reach (beyond its bounds) are re-parented to this process when their
 * ancestor dies, and so are the next sweep's children, as are the
 * children beyond PROC_MAX_CHILDREN once those before them are gone. */
int proc_end_escapees(const char *env_entry)
{
    static pid_t kids[PROC_MAX_CHILDREN];
    int killed = 0, round, sweeps = 0;
    pthread_mutex_lock(&proc_lock);
    do {
        round = 0;
        size_t n = proc_children(getpid(), kids, PROC_MAX_CHILDREN);
        for (size_t i = 0; i < n; i++) {
            if (proc_is_leader(kids[i]) || !proc_env_has(kids[i], env_entry))
                continue;
            proc_kill_tree(kids[i], 0);
            while (waitpid(kids[i], NULL, 0) < 0 && errno == EINTR)
                ;
            round++;
        }
        killed += round;
    } while (round > 0 && ++sweeps < PROC_MAX_SWEEPS);
    pthread_mutex_unlock(&proc_lock);
    if (round > 0)
        log_warn("%s: still finding escaped processes after %d sweeps", env_entry, sweeps);
    return killed;
}

static const char *env_get(char *const envp[], const char *name)
{
    size_t n = strlen(name);
    for (char *const *e = envp; *e; e++)
        if (strncmp(*e, name, n) == 0 && (*e)[n] == '=')
            return *e + n + 1;
    return NULL;
}

/* Like execvp, but before forking, so a missing command is a clear message
 * rather than a child's exit status. */
int proc_find(const char *name, char *const envp[], char *out, size_t len)
{
    if (strchr(name, '/')) {
        if (access(name, X_OK) < 0)
            return errno;
        struct stat st;
        if (stat(name, &st) == 0 && S_ISDIR(st.st_mode))
            return EACCES;
        snprintf(out, len, "%s", name);
        return 0;
    }
    const char *path = env_get(envp, "PATH");
    if (!path)
        path = "/usr/local/bin:/usr/bin:/bin";
    int err = ENOENT;
    while (*path) {
        const char *colon = strchr(path, ':');
        size_t dlen = colon ? (size_t)(colon - path) : strlen(path);
        if (dlen > 0) {
            snprintf(out, len, "%.*s/%s", (int)dlen, path, name);
            struct stat st;
            if (stat(out, &st) == 0 && S_ISREG(st.st_mode)) {
                if (access(out, X_OK) == 0)
                    return 0;
                err = EACCES;
            }
        }
        path += dlen + (colon ? 1 : 0);
    }
    return err;
}

static int set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* The shim's answer to its parent's death (PR_SET_PDEATHSIG): the whole
 * group goes, grandchildren included. kill() is async-signal-safe. */
static void shim_parent_died(int sig)
{
    (void)sig;
    kill(0, SIGKILL);
}

static void __attribute__((noreturn)) child_fail(int report_w)
{
    int e = errno;
    (void)!write(report_w, &e, sizeof(e));
    _exit(127);
}

/* The signals a timeout, a cancel or a terminal would send the group. */
static const int quiet[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT};

/* The shim ignores the quiet signals, answers SIGUSR1 (its parent's death)
 * by killing the group, and unblocks what the server's threads block. */
static void shim_signals(void)
{
    struct sigaction sa;
    sigset_t none;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_IGN;
    for (size_t i = 0; i < sizeof(quiet) / sizeof(quiet[0]); i++)
        sigaction(quiet[i], &sa, NULL);
    sa.sa_handler = shim_parent_died;
    sigfillset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, NULL);
    /* The server blocks signals in its threads; the shim and the command
     * must get them. */
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
}

/* 0 from /dev/null, 1 and 2 to the pipes, the report pipe moved to 3, and
 * every other descriptor closed. Returns the report fd (3), or -1. */
static int shim_descriptors(const char *cwd, int out_w, int err_w, int report_w)
{
    int devnull = open("/dev/null", O_RDWR);
    if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(out_w, 1) < 0 || dup2(err_w, 2) < 0)
        return -1;
    if (chdir(cwd) < 0)
        return -1;
    /* The shim keeps 0, 1, 2 and the report pipe, moved to 3 (it closes on
     * exec), and closes the rest: nothing of the server's (Redis sockets,
     * client connections, the listening socket) may reach the phase, nor
     * stay open in the shim, which lives as long as the phase. That includes
     * the pipes of phases other runners are starting at this moment: a write
     * end held here would keep their output, and their start, from ending. */
    if (report_w != 3 && dup3(report_w, 3, O_CLOEXEC) < 0)
        return -1;
    if (syscall(SYS_close_range, 4U, ~0U, 0U) < 0) {
        long max = sysconf(_SC_OPEN_MAX);
        for (int fd = 4; fd < (max > 0 && max < 65536 ? max : 65536); fd++)
            close(fd);
    }
    return 3;
}

/* The command: default dispositions (ignored ones would survive execve),
 * and death with the shim should the shim be killed. */
static void __attribute__((noreturn))
shim_exec(const char *path, char *const argv[], char *const envp[], int report_w)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_DFL;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof(quiet) / sizeof(quiet[0]); i++)
        sigaction(quiet[i], &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGPIPE, &sa, NULL);
    if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
        child_fail(report_w);
    execve(path, argv, envp);
    child_fail(report_w);
}

/* The shim waits for the command and ends the same way (exit status, or
 * the same signal). */
static void __attribute__((noreturn)) shim_wait(pid_t cmd)
{
    int st;
    while (waitpid(cmd, &st, 0) < 0)
        if (errno != EINTR)
            _exit(127);
    if (WIFSIGNALED(st)) {
        struct sigaction sa;
        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = SIG_DFL;
        sigemptyset(&sa.sa_mask);
        sigaction(WTERMSIG(st), &sa, NULL);
        kill(getpid(), WTERMSIG(st));
        _exit(128 + WTERMSIG(st));
    }
    _exit(WIFEXITED(st) ? WEXITSTATUS(st) : 127);
}

/* Runs in the forked child, which is a copy of a multi-threaded process:
 * until execve, only async-signal-safe calls.
 *
 * The child becomes the "shim": leader of the phase's process group, it
 * forks the command and waits for it. PR_SET_PDEATHSIG alone would only take
 * the command when the server dies; the shim gets SIGUSR1 instead and kills
 * the whole group, so a kill -9 of phasestream leaves none of the phase's
 * processes behind. The shim ignores the TERM that a timeout or a cancel
 * sends to the group, so the command gets its grace period; when the command
 * ends, the shim ends the same way (exit status, or the same signal). */
static void __attribute__((noreturn))
proc_child(const char *path, char *const argv[], char *const envp[], const char *cwd, int out_w,
           int err_w, int report_w, pid_t parent)
{
    setpgid(0, 0);
    shim_signals();
    if (prctl(PR_SET_PDEATHSIG, SIGUSR1, 0, 0, 0) < 0)
        child_fail(report_w);
    if (getppid() != parent)
        kill(0, SIGKILL); /* the server died before we got here */
    int fd = shim_descriptors(cwd, out_w, err_w, report_w);
    if (fd < 0)
        child_fail(report_w);
    report_w = fd;

    pid_t cmd = fork();
    if (cmd < 0)
        child_fail(report_w);
    if (cmd == 0)
        shim_exec(path, argv, envp, report_w);

    /* The shim lets go of the pipes, so they end with the command. */
    dup2(0, 1); /* /dev/null */
    dup2(0, 2);
    close(report_w);
    shim_wait(cmd);
}

int proc_spawn(struct proc *p, char *const argv[], char *const envp[], const char *cwd, char *err,
               size_t errlen)
{
    char path[PATH_MAX];
    int out[2] = {-1, -1}, errp[2] = {-1, -1}, report[2] = {-1, -1};
    int e;

    memset(p, 0, sizeof(*p));
    p->out_fd = p->err_fd = p->pid_fd = -1;
    if ((e = proc_find(argv[0], envp, path, sizeof(path))) != 0) {
        snprintf(err, errlen, "cannot run %s: %s", argv[0], strerror(e));
        return e;
    }
    if (pipe2(out, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0 || pipe2(report, O_CLOEXEC) < 0) {
        e = errno;
        snprintf(err, errlen, "cannot run %s: pipe: %s", argv[0], strerror(e));
        goto close_all;
    }
    pid_t parent = getpid();
    /* Registered before the orphan sweep can see it (it holds the lock). */
    pthread_mutex_lock(&proc_lock);
    pid_t pid = fork();
    if (pid == 0)
        proc_child(path, argv, envp, cwd, out[1], errp[1], report[1], parent);
    if (pid > 0)
        proc_leader_add(pid);
    pthread_mutex_unlock(&proc_lock);
    if (pid < 0) {
        e = errno;
        snprintf(err, errlen, "cannot run %s: fork: %s", argv[0], strerror(e));
        goto close_all;
    }

    /* Also set the group from this side, so a signal sent right after this
     * function returns already reaches the group. */
    setpgid(pid, pid);
    close(out[1]);
    close(errp[1]);
    close(report[1]);
    out[1] = errp[1] = report[1] = -1;

    /* The report pipe closes on exec; bytes in it mean exec failed. */
    ssize_t n;
    int child_errno = 0;
    do {
        n = read(report[0], &child_errno, sizeof(child_errno));
    } while (n < 0 && errno == EINTR);
    close(report[0]);
    report[0] = -1;
    if (n == (ssize_t)sizeof(child_errno)) {
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
            ;
        proc_leader_remove(pid);
        snprintf(err, errlen, "cannot run %s (in %s): %s", argv[0], cwd, strerror(child_errno));
        e = child_errno;
        goto close_all;
    }

    p->pid = pid;
    p->out_fd = out[0];
    p->err_fd = errp[0];
    set_nonblock(p->out_fd);
    set_nonblock(p->err_fd);
    p->pid_fd = (int)syscall(SYS_pidfd_open, pid, 0);
    return 0;

close_all:
    for (int i = 0; i < 2; i++) {
        if (out[i] >= 0)
            close(out[i]);
        if (errp[i] >= 0)
            close(errp[i]);
        if (report[i] >= 0)
            close(report[i]);
    }
    return e ? e : EIO;
}

void proc_signal_group(const struct proc *p, int sig)
{
    if (p->pid > 0)
        kill(-p->pid, sig);
}

bool proc_group_alive(const struct proc *p)
{
    return p->pid > 0 && (kill(-p->pid, 0) == 0 || errno == EPERM);
}

bool proc_reap_leader(struct proc *p)
{
    if (p->reaped || p->pid <= 0)
        return true;
    int status;
    pid_t r;
    do {
        r = waitpid(p->pid, &status, WNOHANG);
    } while (r < 0 && errno == EINTR);
    if (r == p->pid) {
        p->reaped = true;
        p->status = status;
    } else if (r < 0 && errno == ECHILD) {
        p->reaped = true; /* should not happen: someone else reaped it */
        p->status = 0;
    }
    if (p->reaped)
        proc_leader_remove(p->pid);
    return p->reaped;
}

void proc_reap_group(const struct proc *p)
{
    if (p->pid <= 0)
        return;
    /* Members re-parented to us (we are a subreaper) share the group id. */
    while (waitpid(-p->pid, NULL, WNOHANG) > 0)
        ;
}

void proc_close(struct proc *p)
{
    if (p->out_fd >= 0)
        close(p->out_fd);
    if (p->err_fd >= 0)
        close(p->err_fd);
    if (p->pid_fd >= 0)
        close(p->pid_fd);
    p->out_fd = p->err_fd = p->pid_fd = -1;
}
