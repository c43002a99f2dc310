/*
 * stark_statement_fuzz: libFuzzer target for the statement file parser.
 *
 * Anything the strict JSON reader accepts must survive a round trip:
 * written back by statement_to_json and parsed again, it is the same
 * statement. Every rejection carries a reason.
 */
#include <stdint.h>
#include <stdlib.h>

#include "params.h"
#include "statement.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct statement st, back;
    char err[ERROR_MAX], json[STATEMENT_JSON_MAX];
    uint16_t id, id_back;
    size_t n;

    err[0] = '\0';
    if (statement_from_json((const char *)data, size, &st, &id, err) != 0) {
        if (err[0] == '\0')
            abort();
        return 0;
    }
    n = statement_to_json(&st, params_default(), json);
    if (statement_from_json(json, n, &back, &id_back, err) != 0 || !statement_equal(&st, &back))
        abort();
    return 0;
}
