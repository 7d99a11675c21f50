/* oracle_payment: pay according to an oracle-attested external price.
 *
 * Input data: recipient (20 bytes) | price (i64 LE, 8 bytes) | evidence (64-byte compact
 * secp256k1 signature by an oracle key over the claim, see docs/wasm-abi.md).
 *
 *   pay(units i64) -> i64
 *     declares the external state ("price", key "ETH/USD", claim = price bytes),
 *     provides the evidence; if rejected returns -1 and pays nothing;
 *     otherwise queries the verified price, pays units * price to the recipient,
 *     emits "payment" (recipient || amount LE) and returns the amount paid.
 */
#include "ispc.h"

#define PRICE_KEY ISPC_LIT("ETH/USD")

ISPC_EXPORT(pay) int64_t pay(int64_t units) {
    ispc_bytes in = ispc_input();
    if (in.len < 20 + 8 + 64) ispc_panic("pay: input must be recipient(20) | price(8) | evidence(64)");
    ispc_bytes to = ispc_slice(in, 0, 20);
    ispc_bytes claim = ispc_slice(in, 20, 8);
    ispc_bytes evidence = ispc_slice(in, 28, 64);
    int64_t handle = ispc_external_declare("price", PRICE_KEY, claim);
    if (!ispc_provide_evidence(handle, evidence)) {
        ispc_log("pay: oracle evidence rejected, nothing paid");
        return -1;
    }
    int64_t price = ispc_read_i64(ispc_external_query(PRICE_KEY));
    int64_t amount = units * price;
    ispc_transfer(to, amount);
    uint8_t ev[28];
    memcpy(ev, to.ptr, 20);
    ispc_write_i64(ev + 20, amount);
    ispc_emit("payment", ispc_view(ev, sizeof ev));
    ispc_result(ispc_view(ev, sizeof ev));
    return amount;
}
