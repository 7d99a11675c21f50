/* counter: persistent state with versions.
 *
 *   increment(by i64) -> i64  adds `by` to the counter under key "count" (i64 LE), returns the new value
 *   get() -> i64              the current value (0 if never set)
 *   version() -> i64          the state version of "count"
 */
#include "ispc.h"

#define KEY ISPC_LIT("count")

ISPC_EXPORT(get) int64_t get(void) { return ispc_read_i64(ispc_state_get(KEY)); }

ISPC_EXPORT(version) int64_t version(void) { return ispc_state_version(KEY); }

ISPC_EXPORT(increment) int64_t increment(int64_t by) {
    int64_t value = ispc_read_i64(ispc_state_get(KEY)) + by;
    uint8_t buf[8];
    ispc_write_i64(buf, value);
    ispc_state_set(KEY, ispc_view(buf, 8));
    ispc_emit("counter.incremented", ispc_view(buf, 8));
    ispc_result(ispc_view(buf, 8));
    return value;
}
