/*
 * main: the `stark` command line tool.
 *
 *   stark prove --steps N (--input HEX | --random) --out FILE.ub
 *               [--statement-out FILE.json] [--params 1|2]
 *   stark verify FILE.ub (--statement FILE.json | --print-statement)
 *               [--params 1|2]
 *
 * --params picks the parameter set (params.h): 1 (the default, 99 bits
 * conjectured) or 2 (100 bits provable). verify uses the set named by
 * --params, else by the statement file, else set 1, and rejects a proof
 * made with any other.
 *
 * verify checks a proof against a statement the caller trusts: without one
 * a valid proof only shows that *some* statement was proved, so it is
 * refused unless --print-statement asks for exactly that, and then the exit
 * status is 0 only after the proved statement (JSON) was written to stdout.
 *
 * Exit status: 0 proved / valid; 1 the proof is invalid (or proving failed);
 * 2 usage or input error (bad arguments, unreadable or malformed files).
 * Results go to stdout, one short line each; failures to stderr, one line.
 *
 * prove verifies the proof it made before writing it (a millisecond or two),
 * so a prover bug can never publish a proof that does not verify.
 *
 * The secret input never leaves the process: it is not printed, and with
 * --random it is drawn from getrandom(2) and forgotten. Output files are
 * written to a temporary name and renamed, so a reader never sees half a
 * proof.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "params.h"
#include "proof.h"
#include "prover.h"
#include "statement.h"
#include "verifier.h"

enum { EXIT_VALID = 0, EXIT_INVALID = 1, EXIT_USAGE = 2 };

/* A proof is at most a few hundred KB; a statement file one line. */
#define MAIN_PROOF_MAX     ((size_t)16 << 20)
#define MAIN_STATEMENT_MAX 4096

static const char main_usage[] =
        "usage: stark prove --steps N (--input HEX | --random) --out FILE.ub\n"
        "                   [--statement-out FILE.json] [--params 1|2]\n"
        "       stark verify FILE.ub (--statement FILE.json | --print-statement)\n"
        "                   [--params 1|2]\n"
        "N is a power of two from 64 to 1048576 (the chain's states); HEX is\n"
        "32 hex digits, two words below 2^64 - 2^32 + 1.\n";

/* "stark: what: arg" (or "stark: what"), then the usage text. */
static int main_usage_error(const char *what, const char *arg)
{
    if (arg != NULL)
        fprintf(stderr, "stark: %s: %s\n%s", what, arg, main_usage);
    else
        fprintf(stderr, "stark: %s\n%s", what, main_usage);
    return EXIT_USAGE;
}

static double main_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Reads a whole file of at most max bytes; 0 or -1 with a reason. */
static int main_read_file(const char *path, size_t max, uint8_t **out, size_t *len, char *err)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf;
    size_t n;

    if (f == NULL) {
        error_set(err, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    buf = malloc(max + 1);
    if (buf == NULL) {
        fclose(f);
        error_set(err, "out of memory");
        return -1;
    }
    n = fread(buf, 1, max + 1, f);
    if (ferror(f) || n > max) {
        error_set(err, ferror(f) ? "cannot read %s" : "%s is too large", path);
        fclose(f);
        free(buf);
        return -1;
    }
    fclose(f);
    *out = buf;
    *len = n;
    return 0;
}

static int main_write_file(const char *path, const void *data, size_t len, char *err)
{
    char tmp[4096];
    FILE *f;
    int ok;

    if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof(tmp)) {
        error_set(err, "path too long: %s", path);
        return -1;
    }
    f = fopen(tmp, "wb");
    if (f == NULL) {
        error_set(err, "cannot create %s: %s", tmp, strerror(errno));
        return -1;
    }
    ok = fwrite(data, 1, len, f) == len;
    ok = (fclose(f) == 0) && ok;
    if (!ok || rename(tmp, path) != 0) {
        error_set(err, "cannot write %s: %s", path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

static int main_parse_steps(const char *s, unsigned *log_steps)
{
    char *end;
    unsigned long v;

    errno = 0;
    v = strtoul(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || s[0] == '-')
        return -1;
    return statement_log2_steps(v, log_steps);
}

/* "1" or "2": the parameter set, or NULL. */
static const struct params *main_parse_params(const char *s)
{
    if (s[0] == '\0' || s[1] != '\0')
        return NULL;
    return params_by_id((unsigned)(s[0] - '0'));
}

/* "parameter set 1, 99-bit security, 57 bits provable" for 2^log_steps steps. */
static void main_print_security(const struct params *p, unsigned log_steps)
{
    printf("parameter set %u, %u-bit security, %u bits provable", (unsigned)p->id,
           params_security_bits(p, log_steps), params_proven_bits(p, log_steps));
}

/* Two uniform words below p, by rejection. */
static int main_random_input(uint64_t x[2])
{
    for (int k = 0; k < 2;) {
        uint64_t v;

        if (getrandom(&v, sizeof(v), 0) != (ssize_t)sizeof(v))
            return -1;
        if (v < FIELD_P)
            x[k++] = v;
    }
    return 0;
}

static int main_prove(int argc, char **argv)
{
    const struct params *p = params_default();
    const char *steps = NULL, *input = NULL, *out = NULL, *st_out = NULL, *set = NULL;
    int random = 0;
    unsigned log_steps;
    uint64_t x[2];
    struct proof *pr;
    uint8_t *bytes;
    size_t len;
    char err[ERROR_MAX], hex[STATEMENT_HEX_LEN + 1], json[STATEMENT_JSON_MAX];
    double t0;

    for (int i = 0; i < argc; i++) {
        const char **slot = NULL;

        if (strcmp(argv[i], "--steps") == 0)
            slot = &steps;
        else if (strcmp(argv[i], "--input") == 0)
            slot = &input;
        else if (strcmp(argv[i], "--out") == 0)
            slot = &out;
        else if (strcmp(argv[i], "--statement-out") == 0)
            slot = &st_out;
        else if (strcmp(argv[i], "--params") == 0)
            slot = &set;
        else if (strcmp(argv[i], "--random") == 0)
            random = 1;
        else
            return main_usage_error("unknown argument", argv[i]);
        if (slot != NULL) {
            if (i + 1 == argc)
                return main_usage_error("missing value for", argv[i]);
            *slot = argv[++i];
        }
    }
    if (steps == NULL || out == NULL || (input == NULL) == !random)
        return main_usage_error("prove needs --steps, --out and one of --input or --random", NULL);
    if (main_parse_steps(steps, &log_steps) != 0)
        return main_usage_error("--steps is not a power of two from 64 to 1048576", steps);
    if (set != NULL && (p = main_parse_params(set)) == NULL)
        return main_usage_error("--params is not a parameter set (1 or 2)", set);
    if (input != NULL) {
        if (statement_input_from_hex(input, x, err) != 0)
            return main_usage_error("--input", err);
    } else if (main_random_input(x) != 0) {
        fprintf(stderr, "stark: getrandom failed: %s\n", strerror(errno));
        return EXIT_USAGE;
    }

    t0 = main_now();
    if (prover_prove(p, x, log_steps, &pr, err) != 0) {
        fprintf(stderr, "stark: proving failed: %s\n", err);
        return EXIT_INVALID;
    }
    memset(x, 0, sizeof(x));
    if (proof_encode(pr, &bytes, &len, err) != 0) {
        proof_free(pr);
        fprintf(stderr, "stark: %s\n", err);
        return EXIT_INVALID;
    }
    if (verifier_verify(p, bytes, len, &pr->statement, NULL, err) != 0) {
        fprintf(stderr, "stark: internal error, the new proof does not verify: %s\n", err);
        free(bytes);
        proof_free(pr);
        return EXIT_INVALID;
    }
    if (main_write_file(out, bytes, len, err) != 0 ||
        (st_out != NULL &&
         main_write_file(st_out, json, statement_to_json(&pr->statement, p, json), err) != 0)) {
        fprintf(stderr, "stark: %s\n", err);
        free(bytes);
        proof_free(pr);
        return EXIT_USAGE;
    }
    statement_words_to_hex(pr->statement.output, hex);
    printf("stark: proved %lu steps, output %s\n", 1ul << log_steps, hex);
    printf("stark: wrote %s (%zu bytes, ", out, len);
    main_print_security(p, log_steps);
    printf(") in %.3f s\n", main_now() - t0);
    free(bytes);
    proof_free(pr);
    return EXIT_VALID;
}

/*
 * Reads the statement file; *p becomes the set it names unless the command
 * line chose one (fixed), which the file must then agree with.
 */
static int main_load_statement(const char *path, const struct params **p, int fixed,
                               struct statement *st, char *err)
{
    uint8_t *text;
    size_t len;
    uint16_t id;
    int rc;

    if (main_read_file(path, MAIN_STATEMENT_MAX, &text, &len, err) != 0)
        return -1;
    rc = statement_from_json((const char *)text, len, st, &id, err);
    free(text);
    if (rc != 0 || id == 0 || id == (*p)->id)
        return rc;
    if (fixed || params_by_id(id) == NULL) {
        error_set(err, "statement is for parameter set %u, this verifier uses %u", (unsigned)id,
                  (unsigned)(*p)->id);
        return -1;
    }
    *p = params_by_id(id);
    return 0;
}

static int main_verify(int argc, char **argv)
{
    const struct params *p = params_default();
    const char *file = NULL, *st_path = NULL, *set = NULL;
    int print = 0;
    struct statement expected, proved;
    uint8_t *bytes;
    size_t len;
    char err[ERROR_MAX], hex[STATEMENT_HEX_LEN + 1], json[STATEMENT_JSON_MAX];
    int rc;

    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--statement") == 0) {
            if (i + 1 == argc)
                return main_usage_error("missing value for", argv[i]);
            st_path = argv[++i];
        } else if (strcmp(argv[i], "--params") == 0) {
            if (i + 1 == argc)
                return main_usage_error("missing value for", argv[i]);
            set = argv[++i];
        } else if (strcmp(argv[i], "--print-statement") == 0) {
            print = 1;
        } else if (argv[i][0] == '-' || file != NULL) {
            return main_usage_error("unexpected argument", argv[i]);
        } else {
            file = argv[i];
        }
    }
    if (file == NULL)
        return main_usage_error("verify needs a proof file", NULL);
    if ((st_path == NULL) == !print)
        return main_usage_error("verify needs one of --statement FILE or --print-statement", NULL);
    if (set != NULL && (p = main_parse_params(set)) == NULL)
        return main_usage_error("--params is not a parameter set (1 or 2)", set);
    if (st_path != NULL && main_load_statement(st_path, &p, set != NULL, &expected, err) != 0) {
        fprintf(stderr, "stark: %s\n", err);
        return EXIT_USAGE;
    }
    if (main_read_file(file, MAIN_PROOF_MAX, &bytes, &len, err) != 0) {
        fprintf(stderr, "stark: %s\n", err);
        return EXIT_USAGE;
    }
    rc = verifier_verify(p, bytes, len, st_path != NULL ? &expected : NULL, &proved, err);
    free(bytes);
    if (rc != 0) {
        fprintf(stderr, "stark: invalid proof: %s\n", err);
        return EXIT_INVALID;
    }
    if (print) {
        /* The statement is the result: exit 0 only once it is out. */
        size_t n = statement_to_json(&proved, p, json);

        if (n == 0 || fwrite(json, 1, n, stdout) != n || fflush(stdout) != 0) {
            fprintf(stderr, "stark: cannot write the statement: %s\n", strerror(errno));
            return EXIT_USAGE;
        }
        return EXIT_VALID;
    }
    statement_words_to_hex(proved.output, hex);
    printf("stark: valid proof of %lu steps, output %s (", 1ul << proved.log_steps, hex);
    main_print_security(p, proved.log_steps);
    printf(")\n");
    return EXIT_VALID;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "prove") == 0)
        return main_prove(argc - 2, argv + 2);
    if (argc >= 2 && strcmp(argv[1], "verify") == 0)
        return main_verify(argc - 2, argv + 2);
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        fputs(main_usage, stdout);
        return EXIT_VALID;
    }
    fputs(main_usage, stderr);
    return EXIT_USAGE;
}
