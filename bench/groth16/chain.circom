pragma circom 2.0.0;

// The multiplication chain t[i] = t[i-1]^2 + i: n - 1 constraints (n = N - 2 gives N - 3,
// so with 2 public signals the Groth16 domain is exactly N).
template Chain(n) {
    signal input x;
    signal output out;
    signal t[n];
    t[0] <== x;
    for (var i = 1; i < n; i++) {
        t[i] <== t[i-1] * t[i-1] + i;
    }
    out <== t[n-1];
}
