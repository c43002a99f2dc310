pragma circom 2.1.0;

// An EdDSA-Poseidon signature over Baby Jubjub: the public key (Ax, Ay) signed
// the public message M; the signature (R8x, R8y, S) stays private.
//
// The checks are those of circomlib's EdDSAPoseidonVerifier, built from the
// same circomlib parts:
//   S < l (the subgroup order), h = Poseidon(R8x, R8y, Ax, Ay, M),
//   8A is not a low-order point, and S·B8 == R8 + h·(8A).
// One part differs: S·B8, a multiplication by the fixed base point B8, is a
// plain double-and-add over precomputed multiples of B8 with circomlib's
// BabyAdd (FixedBaseMul below) instead of EscalarMulFix. Twisted Edwards
// addition on Baby Jubjub is complete, so there is no exceptional case, and
// the circuit needs about 2,500 PLONK gates for it where EscalarMulFix, under
// the --O1 simplification the Poseidon circuits need, costs 12,500. That
// keeps the whole check within a 2^14 PLONK domain.
//
// Template only: scripts/zk-setup adds the main component (see
// scripts/lib/circuits.cjs).

include "circomlib/circuits/babyjub.circom";
include "circomlib/circuits/bitify.circom";
include "circomlib/circuits/comparators.circom";
include "circomlib/circuits/compconstant.circom";
include "circomlib/circuits/escalarmulany.circom";
include "circomlib/circuits/poseidon.circom";

// out = e·BASE for the n-bit scalar e (least significant bit first): the sum
// of e[i]·2^i·BASE, where 2^i·BASE is computed at compile time and each term
// is either that constant point or the identity (0, 1).
template FixedBaseMul(n, BASE) {
    signal input e[n];
    signal output out[2];

    // Baby Jubjub: a·x^2 + y^2 = 1 + d·x^2·y^2 with a = 168700.
    var a = 168700;
    var p[2] = BASE;

    component adders[n];
    signal accX[n + 1];
    signal accY[n + 1];
    accX[0] <== 0;
    accY[0] <== 1;
    for (var i = 0; i < n; i++) {
        adders[i] = BabyAdd();
        adders[i].x1 <== accX[i];
        adders[i].y1 <== accY[i];
        // e[i] is a bit: the term is p when it is 1, (0, 1) when it is 0.
        adders[i].x2 <== e[i] * p[0];
        adders[i].y2 <== 1 + e[i] * (p[1] - 1);
        accX[i + 1] <== adders[i].xout;
        accY[i + 1] <== adders[i].yout;

        // p = 2·p (field arithmetic: `/` multiplies by the inverse).
        var x = p[0];
        var y = p[1];
        p[0] = (2 * x * y) / (a * x * x + y * y);
        p[1] = (y * y - a * x * x) / (2 - a * x * x - y * y);
    }
    out[0] <== accX[n];
    out[1] <== accY[n];
}

template EdDSASignature() {
    signal input Ax;   // public
    signal input Ay;   // public
    signal input M;    // public
    signal input R8x;  // private
    signal input R8y;  // private
    signal input S;    // private

    // S < l, the order of the subgroup B8 generates.
    component sBits = Num2Bits(253);
    sBits.in <== S;
    component sBelowOrder = CompConstant(2736030358979909402780800718157159386076813972158567259200215660948447373040);
    for (var i = 0; i < 253; i++) {
        sBelowOrder.in[i] <== sBits.out[i];
    }
    sBelowOrder.in[253] <== 0;
    sBelowOrder.out === 0;

    // h = Poseidon(R8, A, M), as bits (strict: the unique representation).
    component hash = Poseidon(5);
    hash.inputs[0] <== R8x;
    hash.inputs[1] <== R8y;
    hash.inputs[2] <== Ax;
    hash.inputs[3] <== Ay;
    hash.inputs[4] <== M;
    component hBits = Num2Bits_strict();
    hBits.in <== hash.out;

    // 8A, by three doublings; it must not be a low-order point.
    component dbl1 = BabyDbl();
    dbl1.x <== Ax;
    dbl1.y <== Ay;
    component dbl2 = BabyDbl();
    dbl2.x <== dbl1.xout;
    dbl2.y <== dbl1.yout;
    component dbl3 = BabyDbl();
    dbl3.x <== dbl2.xout;
    dbl3.y <== dbl2.yout;
    component lowOrder = IsZero();
    lowOrder.in <== dbl3.x;
    lowOrder.out === 0;

    // Right side: R8 + h·(8A).
    component hA = EscalarMulAny(254);
    for (var i = 0; i < 254; i++) {
        hA.e[i] <== hBits.out[i];
    }
    hA.p[0] <== dbl3.xout;
    hA.p[1] <== dbl3.yout;
    component right = BabyAdd();
    right.x1 <== R8x;
    right.y1 <== R8y;
    right.x2 <== hA.out[0];
    right.y2 <== hA.out[1];

    // Left side: S·B8.
    var BASE8[2] = [
        5299619240641551281634865583518297030282874472190772894086521144482721001553,
        16950150798460657717958625567821834550301663161624707787222815936182638968203
    ];
    component left = FixedBaseMul(253, BASE8);
    for (var i = 0; i < 253; i++) {
        left.e[i] <== sBits.out[i];
    }

    left.out[0] === right.xout;
    left.out[1] === right.yout;
}
