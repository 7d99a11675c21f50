/* token: balance query and transfer to a recipient given in the input data.
 *
 *   balance() -> i64            balance of the address in the input (20 bytes), or of the caller
 *   transfer(amount i64) -> i64 pays `amount` from the caller to the 20-byte recipient in the input;
 *                               emits event "transfer" with data = recipient || amount (i64 LE);
 *                               sets the result to the same bytes; returns 0 on success
 */
#include "ispc.h"

ISPC_EXPORT(balance) int64_t balance(void) {
    ispc_bytes in = ispc_input();
    ispc_bytes who = in.len >= 20 ? ispc_slice(in, 0, 20) : ispc_caller();
    return ispc_balance(who);
}

ISPC_EXPORT(transfer) int64_t transfer(int64_t amount) {
    if (amount <= 0) ispc_panic("transfer: amount must be positive");
    ispc_bytes in = ispc_input();
    if (in.len < 20) ispc_panic("transfer: input must start with the 20-byte recipient address");
    ispc_bytes to = ispc_slice(in, 0, 20);
    int64_t rc = ispc_transfer(to, amount);
    uint8_t ev[28];
    memcpy(ev, to.ptr, 20);
    ispc_write_i64(ev + 20, amount);
    ispc_emit("transfer", ispc_view(ev, sizeof ev));
    ispc_result(ispc_view(ev, sizeof ev));
    return rc;
}
