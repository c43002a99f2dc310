// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// @title StarkVerifier
/// @notice Verifies proofs of the `stark` tool (src/stark, docs/stark.md):
/// "I know x such that the N-step hash chain from (x0, x1, 0, 0) ends in a
/// state whose first two words are (y0, y1)", format version 1, parameter
/// sets 1 (28 queries) and 2 (102 queries). It makes the calls of
/// src/stark/verifier.c in the same order: the header and exact length, the
/// statement, the SHA-256 transcript (precompile 0x02), the out-of-domain
/// AIR check, then per query the trace and composition openings, the DEEP
/// value and every FRI layer down to the remainder. It accepts exactly the
/// proofs the C verifier accepts for the same statement (the cross-check in
/// tests/scripts runs one corpus through both).
///
/// Model: `verify` returns true for a valid proof of the given statement and
/// reverts with Rejected(reason) otherwise; it never returns false. The proof
/// is read in place from calldata; memory holds the transcript state, the
/// challenges (a few hundred words), each query's point and inverses, the
/// remainder's coefficients, a memo of the Merkle trees' top levels and a
/// scratch area at the free memory pointer for the precompile calls. Field
/// elements are Goldilocks (p = 2^64 - 2^32 + 1) words; an element of
/// F_p[X]/(X^2 - 7) is packed in one word as c0 | c1 << 128. Inverses and
/// powers use the modexp precompile (0x05); the queries' inverses all come
/// from one call. Cost grows with queries * (log N + FRI layers) hashes,
/// less the top levels that the queries' paths share; the hot paths (Merkle
/// paths, reading elements, the DEEP sums, FRI folds) are inline assembly.
/// Bounds: N = 2^6 .. 2^20, at most 6 FRI layers, proofs below 64 KiB of
/// absorbed data per transcript step. No state, no owner: a pure function
/// of its arguments.
contract StarkVerifier {
    uint256 private constant P = 0xffffffff00000001;
    uint256 private constant LO = 0xffffffffffffffffffffffffffffffff;
    /// The multiplicative generator, also the LDE coset's offset.
    uint256 private constant GEN = 7;
    /// X^2 = 7 in the extension.
    uint256 private constant NONRESIDUE = 7;
    uint256 private constant LOG_BLOWUP = 3;
    uint256 private constant GRINDING_BITS = 16;
    uint256 private constant LOG_FOLD = 3;
    uint256 private constant LOG_REMAINDER_MAX = 4;
    /// 1/8 mod p.
    uint256 private constant INV8 = 0xdfffffff20000001;
    /// Offsets of the fixed part of a proof (docs/stark.md, "Proof format").
    uint256 private constant Y_OFF = 12;
    uint256 private constant TRACE_ROOT_OFF = 28;
    uint256 private constant CHUNKS_ROOT_OFF = 60;
    uint256 private constant OOD_OFF = 92;
    uint256 private constant ROOTS_OFF = 380;

    /// Why a proof was rejected.
    uint256 private constant BAD_HEADER = 1;
    uint256 private constant BAD_LENGTH = 2;
    uint256 private constant OTHER_STATEMENT = 3;
    uint256 private constant NON_CANONICAL = 4;
    uint256 private constant BAD_GRINDING = 5;
    uint256 private constant BAD_OOD = 6;
    uint256 private constant BAD_TRACE_OPENING = 7;
    uint256 private constant BAD_CHUNKS_OPENING = 8;
    uint256 private constant BAD_FRI_OPENING = 9;
    uint256 private constant BAD_FRI_VALUE = 10;
    uint256 private constant BAD_REMAINDER = 11;

    error Rejected(uint256 reason);

    /// Coefficients of the 4 periodic round-constant polynomials p_k (64 each,
    /// k-major, big-endian 64-bit words), as air_init() computes them: the
    /// inverse NTT over the 64th roots of unity of
    /// c[r][k] = SHA-256("phasestream-stark/round-constant" || r || k || attempt).
    bytes private constant RC = hex"44a29c67adc0373ecc52f92d10575bf4d91a967e7342cb1fa02001fa5ba76f5f3e8b94c5cfbecb4960d990bb9bfb91f91697ffa7b3eda8b7a87c83e81732f9a656f5462b7e011e0c88a38a171efe94962b844139b205b661b26241b194d4c9e72b83579091e45f79b67a3b854b94c075d0a6e53ee15c216da13b8cf4a4fd49dbd31e857ee3ee2b14139d5317f7ae5ef625b978de7f082fb9896f7f41058588975d6aafe32f90e151c372b86a42659b7c91ab555a5761c586538a77d438526b54911cbf293ac6234a7ebb4dce66cb7f175fc77ee3ee6be1bcf2ba876ab2be4b3ae3322d4a839191673ef90f04b307ac1d13da0cc85fb44e69e44adc4471bd8d2b18920c8210ce819615f79abd8a21a9c7e8d20c4ced74e59e4cf7f303a689cc7099579ae53f1ffe9c65e905b138c5dedebf7bdf2cc5236bef2b05a527643b00f57a766cd910880c8ff8b13fcf08c5acb3f0cc4d492d20bea62f07babd57f15ffd26c25c4dcdcccc6db82033b3798b032270ddc858a777031f76d98a2ddcb68debb1d9dc4f3b1a3262b8e76503217f5b8415e9a5b17125deca83bb484fa7cb0a62d50bb22c485538cda02bd96f8d59b6e3a82ef710d047740b6d45a54743319829df8949642cd5c5b29a77286344e7d5b89e12f65b6139c2a7ba48672435a9f470a909f742978c2aa4d8f16a3f65f59cf5db63844943b93d3de512d588cae92ef5a6a10db73dd3d5ae5fbfdc91faa7ef5a289afbac8206cc7e515bddc9ec0ee54712745a32e0644fe643d98baa9910fcba23ff5c5c5445a7ca0171287d742cc5c22dcb09d572ba534049c8fa5b3fc2ee80bb3966139851d341c49924f8cd4ef30851d8e8890ffe094fb250d802149e3a54548f1233accd4c1a8dc65e7d5de37b0237825e074935e5148ea1dbe10db434e21e4c2c193c973ac310ae805ab3e48c851a6e7c887561eb20d8a2d82a8609c57afbe883d08b0c2d03ef8e34ccddfa532e3b6b7d3b4bac928b20b1422aca2cb9e6df01046426ab1d5491c3383fdbb670f8bc68cb68aa2fabf7895e42b01d2ecbfe469be5ebb64966d2b791b5bf532ff2e81c1e98795fb2aca79f7ff70ea80ceb7200a97aa1d7818085677c38906e1dd6e15ef91660208ba47783b249c16675bef9d4967a189eb2d4bdbd6ceb74d75cc7a210d8c7de0b6a7658d6ac4173702a31003274383952a815de44f54ca2e59a98db4dcecb7535f4b1c2433f6a3581c3f05cbc5b4bfdf4c92c518de80f0cd5e357351b4607bd916cc668b753d98e6d8b6b49626a47cce249b7b14678d793035e1e73745518b1ec42c418f3a5dafe89fab06b6ad0464af64dab147422f083644f2af55331f94dce797bbd140bff8dfce11eaf23f01956d0bbddcce57cfd7ca9564f4f90b82d6a03a8425f6238260f499e7b920dc5c9afa9cb0736d5d86429ade15620fe049295a15875cac7e15f0b0ff32cb48cf411b57e2d0d71918a81301338c6a28c8bedc35c321e41307eab352c350518645fc2104dcd58b53f1d2c74f940575329d33256eb773a9fbe9a6e734cc94ff9506179993396eb25e8b139bfd057517aa190b3e52a6bfe6265068e2b3961d9ab259597a7bca3d161d67314cf1577f0e69d5396ce8e7774bb8ac83f7887adb1c82f1a203afb79a4c7862bcce102eb7c9173140a1e59318cca30f3fa8d648602c9fa15dd64459d086310344aa368462b2eec0459c0d11be0eac1e8e76b4280537aa18af864745fc05c13b03c9bbe041c62c229ca91c1975d66b69843aff703eba923675d4f3bd536fe232709caba50ecdfd73edd97986bb53c1db3d76633b060f0e51655fadc5ddee91047b84348e45788d907723fcfec6cb611e8f39c6775085e0487474c21cd4f3f87c60ccd84f11f56ddf028573381d7d6f61aee4579afb4deab2b9fa7cf61da8579e6d4804059c1891dd13c5dc379ec638128082d7b0dbfeb7e0b725d0da79e1d48a9e2765e0e8641f5d6e6bd81c368efb74e9e4d7465fc81df7e810ea71b42eb5eee9f74f82a371f56d2e323a60e4170c8372de09bd8fbcfde931b405bb6cc32f7741c3e6f47747d708b27e4a234b33f68b248b82a294d4e179fc4179717b2906f74980cfb420a3de8e622ba65bccdf30f19de061d262e56951675b109b397b141aae148a05d2b0ebc0778d6ae9b50e9acf61fdfe36ca812b28d3d24250a5a3cc125a37f404b5fdda693de8defbce142838c785dd9c02a3a5e42eb5b91b175d40f497a0d183520d355094a65f4a86f1d44a801b9b5f96ed0f73f3ec12316ea932ad3c65ce2b58a0e29655c7550d504df3e93a0d3bc9fa60b033411269ea1f54e9314639def1a6ed78b5f5dabb5e0834b2e426185b6aef892769de916786447a7b56e368eafc1a93c1a894090df713ea26fc875d027f2ff21049a87f9bda17f125096744653116c15d3e317f312ed9138afd9bf0906fd2ef75634b0c619edd36d9b0fd220a209daba70bb4d8563ae94be3a27a43d083caa8ac9c265db65e7fb6fc5678e80f619b54e40954afe860086a37385bc55fcf511be45c79ac357190c8b678e4dea337d0a3a6597ccdf2d502fec73036160c73ea68242587e27e996551b9363af6da2971d7ab1d4fb3840520df35390ba9d46744b86381dc46a6bd20e788d034d61fc7253317494d14b7bc936e0bf338f3da097d2b25096a24b36d82ebcc8d6af9c4d3be314654dfb838587c20878b6e573ebcb57cd9266735f7268b90003aa11385ce8ad5c59caeb0959cf756f01933e76be9e244ad7b81f9f5eb2587504e85c1ce1a5d178633c2719064fb4e540384c9e737e7985c48e7e84c199b3ccb85204def4a3c16b7f2565c8e0ad18ad7774c7bc7103c834b4923a6f5ea793982e399ab7fa6fc4bd";

    struct Layout {
        uint256 params;
        uint256 queries;
        uint256 logN;
        uint256 logLde;
        uint256 layers;
        uint256 logRem;
        uint256 remOff;
        uint256 nonceOff;
        uint256 queriesOff;
        uint256 perQuery;
    }

    struct Ctx {
        uint256 base; // calldata offset of the proof's first byte
        bytes32 state; // the transcript
        uint256 z;
        uint256 omegaZ;
        uint256 omegaLde;
        uint256 atZ;
        uint256 atOmegaZ;
        uint256[12] alpha;
        uint256[8] g;
        uint256[8] gNext;
        uint256[2] d;
        uint256[8] muInv;
        uint256[6] beta;
        uint256[] rem; // the remainder's coefficients
        uint256[8] v; // one FRI leaf's values, folded in place
        uint256 memo; // memory address of the Merkle memo (_merkleOk)
        uint256 memoHeight; // the memo's levels: 2^(memoHeight + 1) >= queries
    }

    /// True when `proof` is a valid proof, made with parameter set `params`,
    /// of the statement (steps, y0, y1); reverts with Rejected otherwise.
    function verify(bytes calldata proof, uint256 params, uint256 steps, uint256 y0, uint256 y1)
        external
        view
        returns (bool)
    {
        Layout memory l = _layout(proof, params);
        Ctx memory c;
        assembly {
            mstore(c, proof.offset)
        }
        _checkStatement(c.base, l, steps, y0, y1);
        uint256[18] memory ood = _readOod(c.base);
        _replay(c, l, ood);
        uint256[] memory positions = new uint256[](l.queries);
        for (uint256 q = 0; q < l.queries; q++) {
            positions[q] = _drawIndex(c, l.logLde);
        }
        _checkOod(c, l, ood, y0, y1);
        uint256[] memory points = _queryPoints(c, l, positions);
        c.rem = _readRemainder(c.base, l);
        // The Merkle memo (_merkleOk), zeroed: per tree (trace, chunks, each
        // FRI layer) two words for each node of its top memoHeight + 1 levels.
        while (2 << c.memoHeight < l.queries) c.memoHeight++;
        uint256[] memory memo = new uint256[]((2 + l.layers) << (c.memoHeight + 2));
        uint256 memoAt;
        assembly {
            memoAt := add(memo, 32)
        }
        c.memo = memoAt;
        for (uint256 q = 0; q < l.queries; q++) {
            _checkQuery(c, l, q, positions[q], points);
        }
        return true;
    }

    // --- layout and statement -------------------------------------------

    function _layout(bytes calldata proof, uint256 params) private pure returns (Layout memory l) {
        if (proof.length < 12) revert Rejected(BAD_HEADER);
        // "PSTK", version 1 (u16), parameter set (u16), log2 N, 3 zero bytes.
        if (bytes4(proof[0:4]) != "PSTK" || proof[4] != 0x01 || proof[5] != 0) revert Rejected(BAD_HEADER);
        l.params = uint256(uint8(proof[6])) | (uint256(uint8(proof[7])) << 8);
        if (l.params != params) revert Rejected(BAD_HEADER);
        if (params == 1) l.queries = 28;
        else if (params == 2) l.queries = 102;
        else revert Rejected(BAD_HEADER);
        if (proof[9] != 0 || proof[10] != 0 || proof[11] != 0) revert Rejected(BAD_HEADER);
        l.logN = uint8(proof[8]);
        if (l.logN < 6 || l.logN > 20) revert Rejected(BAD_HEADER);
        l.logLde = l.logN + LOG_BLOWUP;
        uint256 deg = l.logN;
        while (deg > LOG_REMAINDER_MAX) {
            deg = deg > LOG_FOLD ? deg - LOG_FOLD : 0;
            l.layers++;
        }
        l.logRem = deg;
        l.remOff = ROOTS_OFF + 32 * l.layers;
        l.nonceOff = l.remOff + (16 << deg);
        l.queriesOff = l.nonceOff + 8;
        l.perQuery = 64 + 32 + 64 * l.logLde;
        for (uint256 k = 0; k < l.layers; k++) {
            l.perQuery += 128 + 32 * (l.logLde - LOG_FOLD * (k + 1));
        }
        if (proof.length != l.queriesOff + l.queries * l.perQuery) revert Rejected(BAD_LENGTH);
    }

    function _checkStatement(uint256 base, Layout memory l, uint256 steps, uint256 y0, uint256 y1) private pure {
        if (steps != (1 << l.logN) || _rd(base, Y_OFF) != y0 || _rd(base, Y_OFF + 8) != y1) {
            revert Rejected(OTHER_STATEMENT);
        }
    }

    // --- calldata ---------------------------------------------------------

    function _swap64(uint256 v) private pure returns (uint256) {
        v = ((v & 0xff00ff00ff00ff00) >> 8) | ((v & 0x00ff00ff00ff00ff) << 8);
        v = ((v & 0xffff0000ffff0000) >> 16) | ((v & 0x0000ffff0000ffff) << 16);
        return (v >> 32) | ((v & 0xffffffff) << 32);
    }

    /// The canonical field element at byte `off` of the proof.
    function _rd(uint256 base, uint256 off) private pure returns (uint256 v) {
        assembly {
            v := shr(192, calldataload(add(base, off)))
        }
        v = _swap64(v);
        if (v >= P) revert Rejected(NON_CANONICAL);
    }

    function _rdExt(uint256 base, uint256 off) private pure returns (uint256) {
        return _rd(base, off) | (_rd(base, off + 8) << 128);
    }

    // --- the base field and its extension --------------------------------

    function _pow(uint256 b, uint256 e) private view returns (uint256 r) {
        assembly {
            let m := mload(0x40)
            mstore(m, 32)
            mstore(add(m, 32), 32)
            mstore(add(m, 64), 32)
            mstore(add(m, 96), b)
            mstore(add(m, 128), e)
            mstore(add(m, 160), P)
            if iszero(staticcall(gas(), 5, m, 192, m, 32)) { revert(0, 0) }
            r := mload(m)
        }
    }

    function _inv(uint256 a) private view returns (uint256) {
        return _pow(a, P - 2);
    }

    /// A primitive 2^logN-th root of unity.
    function _root(uint256 logN) private view returns (uint256) {
        return _pow(GEN, (P - 1) >> logN);
    }

    function _add(uint256 a, uint256 b) private pure returns (uint256) {
        return addmod(a & LO, b & LO, P) | (addmod(a >> 128, b >> 128, P) << 128);
    }

    function _sub(uint256 a, uint256 b) private pure returns (uint256) {
        return addmod(a & LO, P - (b & LO), P) | (addmod(a >> 128, P - (b >> 128), P) << 128);
    }

    function _mul(uint256 a, uint256 b) private pure returns (uint256) {
        uint256 a0 = a & LO;
        uint256 a1 = a >> 128;
        uint256 b0 = b & LO;
        uint256 b1 = b >> 128;
        uint256 c0 = addmod(mulmod(a0, b0, P), mulmod(NONRESIDUE, mulmod(a1, b1, P), P), P);
        return c0 | (addmod(mulmod(a0, b1, P), mulmod(a1, b0, P), P) << 128);
    }

    /// Multiplication by a base-field element s.
    function _scale(uint256 a, uint256 s) private pure returns (uint256) {
        return mulmod(a & LO, s, P) | (mulmod(a >> 128, s, P) << 128);
    }

    /// 1/a = (a0 - a1 X) / (a0^2 - 7 a1^2); 0 for 0, as in field.c.
    function _einv(uint256 a) private view returns (uint256) {
        uint256 a0 = a & LO;
        uint256 a1 = a >> 128;
        uint256 t = _inv(addmod(mulmod(a0, a0, P), P - mulmod(NONRESIDUE, mulmod(a1, a1, P), P), P));
        return mulmod(a0, t, P) | (mulmod(P - a1, t, P) << 128);
    }

    // --- transcript (src/stark/transcript.c) -----------------------------

    /// SHA-256(tag || state || [len as u64 LE] || calldata[ptr .. ptr + len]):
    /// the absorb step (with the length) and the grinding check (without).
    function _hashStep(uint256 tag, bytes32 s, uint256 ptr, uint256 len, bool withLen)
        private
        view
        returns (bytes32 h)
    {
        assembly {
            let m := mload(0x40)
            mstore8(m, tag)
            mstore(add(m, 1), s)
            let q := add(m, 33)
            if withLen {
                mstore(q, or(shl(248, and(len, 0xff)), shl(240, shr(8, len))))
                q := add(q, 8)
            }
            calldatacopy(q, ptr, len)
            if iszero(staticcall(gas(), 2, m, sub(add(q, len), m), m, 32)) { revert(0, 0) }
            h := mload(m)
        }
    }

    /// state = SHA-256(0x01 || state || len as u64 LE || proof[off .. off + len]).
    function _absorb(Ctx memory c, uint256 off, uint256 len) private view {
        c.state = _hashStep(1, c.state, c.base + off, len, true);
    }

    /// The same for bytes in memory.
    function _absorbMem(Ctx memory c, bytes memory data) private view {
        bytes32 s = c.state;
        assembly {
            let len := mload(data)
            let m := mload(0x40)
            mstore8(m, 1)
            mstore(add(m, 1), s)
            mstore(add(m, 33), or(shl(248, and(len, 0xff)), shl(240, shr(8, len))))
            for { let i := 0 } lt(i, len) { i := add(i, 32) } {
                mstore(add(add(m, 41), i), mload(add(add(data, 32), i)))
            }
            if iszero(staticcall(gas(), 2, m, add(41, len), m, 32)) { revert(0, 0) }
            s := mload(m)
        }
        c.state = s;
    }

    /// state = SHA-256(0x02 || state); returns its first 8 bytes as a LE word.
    function _squeeze(Ctx memory c) private view returns (uint256) {
        bytes32 s = c.state;
        assembly {
            let m := mload(0x40)
            mstore8(m, 2)
            mstore(add(m, 1), s)
            if iszero(staticcall(gas(), 2, m, 33, m, 32)) { revert(0, 0) }
            s := mload(m)
        }
        c.state = s;
        return _swap64(uint256(s) >> 192);
    }

    function _drawField(Ctx memory c) private view returns (uint256 v) {
        do {
            v = _squeeze(c);
        } while (v >= P);
    }

    function _drawExt(Ctx memory c) private view returns (uint256) {
        uint256 c0 = _drawField(c);
        return c0 | (_drawField(c) << 128);
    }

    function _drawIndex(Ctx memory c, uint256 logN) private view returns (uint256) {
        return _squeeze(c) & ((1 << logN) - 1);
    }

    /// SHA-256(0x03 || state || nonce) must start with GRINDING_BITS zeros.
    function _grindOk(Ctx memory c, uint256 nonceOff) private view returns (bool) {
        return uint256(_hashStep(3, c.state, c.base + nonceOff, 8, false)) >> (256 - GRINDING_BITS) == 0;
    }

    // --- the protocol, up to the query positions -------------------------

    function _readOod(uint256 base) private pure returns (uint256[18] memory v) {
        for (uint256 i = 0; i < 18; i++) {
            v[i] = _rdExt(base, OOD_OFF + 16 * i);
        }
    }

    function _replay(Ctx memory c, Layout memory l, uint256[18] memory ood) private view {
        c.state = sha256("phasestream-stark/transcriptproof v1");
        // statement_bind(): the whole parameter set, log2 N, y.
        bytes16 y;
        uint256 ptr = c.base + Y_OFF;
        assembly {
            y := calldataload(ptr)
        }
        _absorbMem(
            c,
            abi.encodePacked(
                uint8(l.params), uint8(l.params >> 8), uint8(LOG_BLOWUP), uint8(l.queries),
                uint8(GRINDING_BITS), uint8(LOG_FOLD), uint8(LOG_REMAINDER_MAX), uint8(0), uint8(l.logN), y
            )
        );
        _absorb(c, TRACE_ROOT_OFF, 32);
        for (uint256 m = 0; m < 12; m++) {
            c.alpha[m] = _drawExt(c);
        }
        _absorb(c, CHUNKS_ROOT_OFF, 32);
        do {
            c.z = _drawExt(c);
        } while (c.z >> 128 == 0);
        _deepInit(c, l, ood);
        _friInit(c, l);
        if (!_grindOk(c, l.nonceOff)) revert Rejected(BAD_GRINDING);
        _absorb(c, l.nonceOff, 8);
    }

    /// deep_init(): absorb the claimed values, draw the DEEP weights.
    function _deepInit(Ctx memory c, Layout memory l, uint256[18] memory ood) private view {
        _absorb(c, OOD_OFF, 128);
        _absorb(c, OOD_OFF + 128, 128);
        _absorb(c, OOD_OFF + 256, 32);
        for (uint256 j = 0; j < 8; j++) {
            c.g[j] = _drawExt(c);
        }
        for (uint256 j = 0; j < 8; j++) {
            c.gNext[j] = _drawExt(c);
        }
        c.d[0] = _drawExt(c);
        c.d[1] = _drawExt(c);
        c.omegaZ = _scale(c.z, _root(l.logN));
        uint256 atZ = _add(_mul(c.d[0], ood[16]), _mul(c.d[1], ood[17]));
        uint256 atOmegaZ = 0;
        for (uint256 j = 0; j < 8; j++) {
            atZ = _add(atZ, _mul(c.g[j], ood[j]));
            atOmegaZ = _add(atOmegaZ, _mul(c.gNext[j], ood[8 + j]));
        }
        c.atZ = atZ;
        c.atOmegaZ = atOmegaZ;
    }

    /// fri_verifier_init(): per layer its root then beta; the remainder.
    function _friInit(Ctx memory c, Layout memory l) private view {
        for (uint256 k = 0; k < l.layers; k++) {
            _absorb(c, ROOTS_OFF + 32 * k, 32);
            c.beta[k] = _drawExt(c);
        }
        _absorb(c, l.remOff, 16 << l.logRem);
        uint256 muInv = _inv(_root(LOG_FOLD));
        uint256 x = 1;
        for (uint256 j = 0; j < 8; j++) {
            c.muInv[j] = x;
            x = mulmod(x, muInv, P);
        }
        c.omegaLde = _root(l.logLde);
    }

    // --- the out-of-domain check (deep_ood_composition, air_compose) -----

    function _checkOod(Ctx memory c, Layout memory l, uint256[18] memory ood, uint256 y0, uint256 y1)
        private
        view
    {
        uint256 zT = c.z;
        for (uint256 i = 0; i < l.logN; i++) {
            zT = _mul(zT, zT);
        }
        uint256 composed = _mul(_transitions(c, ood, _periodic(c.z, l.logN)), _transitionDivisor(c.z, zT, l.logN));
        composed = _add(composed, _boundaries(c, ood, y0, y1, l.logN));
        if (composed != _add(ood[16], _mul(zT, ood[17]))) revert Rejected(BAD_OOD);
    }

    /// The round constants at z: p_k(z^(N/64)).
    function _periodic(uint256 z, uint256 logN) private pure returns (uint256[4] memory rc) {
        uint256 y = z;
        for (uint256 i = 6; i < logN; i++) {
            y = _mul(y, y);
        }
        bytes memory coeffs = RC;
        for (uint256 k = 0; k < 4; k++) {
            uint256 acc = 0;
            for (uint256 r = 64; r > 0;) {
                r--;
                uint256 w;
                assembly {
                    w := shr(192, mload(add(add(coeffs, 32), mul(8, add(mul(k, 64), r)))))
                }
                acc = _add(_mul(acc, y), w);
            }
            rc[k] = acc;
        }
    }

    /// circ(2, 3, 1, 1): row j, column k.
    function _mds(uint256 j, uint256 k) private pure returns (uint256) {
        uint256 i = (k + 4 - j) & 3;
        return i == 0 ? 2 : (i == 1 ? 3 : 1);
    }

    /// sum over the 8 transition constraints of alpha_m C_m(z).
    function _transitions(Ctx memory c, uint256[18] memory ood, uint256[4] memory rc)
        private
        pure
        returns (uint256 acc)
    {
        uint256[4] memory b;
        for (uint256 k = 0; k < 4; k++) {
            uint256 a = _add(ood[k], rc[k]);
            uint256 u = ood[4 + k];
            acc = _add(acc, _mul(c.alpha[k], _sub(u, _mul(_mul(a, a), a))));
            b[k] = _mul(_mul(u, u), a);
        }
        for (uint256 j = 0; j < 4; j++) {
            uint256 s = ood[8 + j];
            for (uint256 k = 0; k < 4; k++) {
                s = _sub(s, _scale(b[k], _mds(j, k)));
            }
            acc = _add(acc, _mul(c.alpha[4 + j], s));
        }
    }

    /// (z - omega^(N-1)) / (z^N - 1).
    function _transitionDivisor(uint256 z, uint256 zT, uint256 logN) private view returns (uint256) {
        return _mul(_sub(z, _inv(_root(logN))), _einv(_sub(zT, 1)));
    }

    /// The boundary terms: s_2 = s_3 = 0 on row 0, (s_0, s_1) = y on row N-1.
    function _boundaries(Ctx memory c, uint256[18] memory ood, uint256 y0, uint256 y1, uint256 logN)
        private
        view
        returns (uint256)
    {
        uint256 first = _add(_mul(c.alpha[8], ood[2]), _mul(c.alpha[9], ood[3]));
        uint256 last = _add(_mul(c.alpha[10], _sub(ood[0], y0)), _mul(c.alpha[11], _sub(ood[1], y1)));
        uint256 zLast = _sub(c.z, _inv(_root(logN)));
        return _add(_mul(first, _einv(_sub(c.z, 1))), _mul(last, _einv(zLast)));
    }

    // --- queries ------------------------------------------------------------

    /// Per query q, at points[4q ..]: its point x in the LDE domain, 1/x,
    /// 1/(x - z) and 1/(x - omega z). The inverses come from one modexp call
    /// for all queries (_batchInverse). None of the inverted elements is 0: x
    /// is GEN times a power of omega; x - z and x - omega z have z's nonzero X
    /// coefficient (as drawn), up to sign, and a nonzero element's norm
    /// a0^2 - 7 a1^2 is nonzero (7 is no square mod p).
    function _queryPoints(Ctx memory c, Layout memory l, uint256[] memory positions)
        private
        view
        returns (uint256[] memory points)
    {
        uint256 n = positions.length;
        points = new uint256[](4 * n);
        // x, then the norms of x - z and x - omega z: 1/(a0 + a1 X) is
        // (a0 - a1 X) / (a0^2 - 7 a1^2).
        uint256[] memory e = new uint256[](3 * n);
        // omegaLde^(2^i), for x = GEN omegaLde^pos by the bits of pos.
        uint256[] memory sq = new uint256[](l.logLde);
        uint256 z = c.z;
        uint256 omegaZ = c.omegaZ;
        uint256 w = c.omegaLde;
        assembly {
            for { let i := 0 } lt(i, mload(sq)) { i := add(i, 1) } {
                mstore(add(sq, shl(5, add(i, 1))), w)
                w := mulmod(w, w, P)
            }
            let z1 := sub(P, shr(128, z))
            let w1 := sub(P, shr(128, omegaZ))
            for { let q := 0 } lt(q, n) { q := add(q, 1) } {
                let x := GEN
                let pos := mload(add(positions, shl(5, add(q, 1))))
                for { let t := add(sq, 32) } pos { t := add(t, 32) } {
                    if and(pos, 1) { x := mulmod(x, mload(t), P) }
                    pos := shr(1, pos)
                }
                // a = x - z, b = x - omega z (z1, w1 are their X coefficients).
                let a0 := addmod(x, sub(P, and(z, LO)), P)
                let b0 := addmod(x, sub(P, and(omegaZ, LO)), P)
                let pt := add(points, shl(7, q))
                mstore(add(pt, 32), x)
                mstore(add(pt, 96), or(a0, shl(128, z1)))
                mstore(add(pt, 128), or(b0, shl(128, w1)))
                let et := add(e, mul(96, q))
                mstore(add(et, 32), x)
                mstore(add(et, 64), addmod(mulmod(a0, a0, P), sub(P, mulmod(NONRESIDUE, mulmod(z1, z1, P), P)), P))
                mstore(add(et, 96), addmod(mulmod(b0, b0, P), sub(P, mulmod(NONRESIDUE, mulmod(w1, w1, P), P)), P))
            }
        }
        _batchInverse(e);
        assembly {
            for { let q := 0 } lt(q, n) { q := add(q, 1) } {
                let pt := add(points, shl(7, q))
                let et := add(e, mul(96, q))
                mstore(add(pt, 64), mload(add(et, 32)))
                for { let k := 0 } lt(k, 2) { k := add(k, 1) } {
                    let at := add(pt, add(96, shl(5, k)))
                    let a := mload(at)
                    let t := mload(add(et, add(64, shl(5, k))))
                    mstore(at, or(mulmod(and(a, LO), t, P), shl(128, mulmod(sub(P, shr(128, a)), t, P))))
                }
            }
        }
    }

    /// Replaces each element of e by its inverse with one modexp call
    /// (Montgomery's trick: 3 products per element); no element may be 0.
    function _batchInverse(uint256[] memory e) private view {
        uint256 n = e.length;
        uint256[] memory prefix = new uint256[](n);
        uint256 acc = 1;
        assembly {
            for { let i := 0 } lt(i, n) { i := add(i, 1) } {
                let at := shl(5, add(i, 1))
                acc := mulmod(acc, mload(add(e, at)), P)
                mstore(add(prefix, at), acc)
            }
        }
        uint256 inv = _inv(acc);
        assembly {
            // inv = 1/(e_0 ... e_i); 1/e_i = inv e_0 ... e_(i-1).
            for { let i := n } gt(i, 1) {} {
                let at := add(e, shl(5, i))
                let ei := mload(at)
                i := sub(i, 1)
                mstore(at, mulmod(inv, mload(add(prefix, shl(5, i))), P))
                inv := mulmod(inv, ei, P)
            }
            if n { mstore(add(e, 32), inv) }
        }
    }

    /// The remainder's coefficients, read (and checked canonical) once for
    /// all queries, as the C verifier reads them with the proof.
    function _readRemainder(uint256 base, Layout memory l) private pure returns (uint256[] memory rem) {
        rem = new uint256[](1 << l.logRem);
        for (uint256 k = 0; k < rem.length; k += 2) {
            (rem[k], rem[k + 1]) = _rdExt2(base + l.remOff + 16 * k);
        }
    }

    /// The 32 bytes at calldata `ptr` as four canonical elements e0 .. e3,
    /// each little-endian word byte-swapped in place: e0 << 192 | e1 << 128 |
    /// e2 << 64 | e3. One read and three swap steps serve four elements.
    function _rd4(uint256 ptr) private pure returns (uint256 v) {
        bool bad;
        assembly {
            v := calldataload(ptr)
            v := or(
                shr(8, and(v, 0xff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00)),
                and(shl(8, v), 0xff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00)
            )
            v := or(
                shr(16, and(v, 0xffff0000ffff0000ffff0000ffff0000ffff0000ffff0000ffff0000ffff0000)),
                and(shl(16, v), 0xffff0000ffff0000ffff0000ffff0000ffff0000ffff0000ffff0000ffff0000)
            )
            v := or(
                shr(32, and(v, 0xffffffff00000000ffffffff00000000ffffffff00000000ffffffff00000000)),
                and(shl(32, v), 0xffffffff00000000ffffffff00000000ffffffff00000000ffffffff00000000)
            )
            // e >= p iff e + (2^32 - 1) carries out of its 64 bits: two
            // lanes at a time, with the other two cleared to catch the carry.
            let even := or(0xffffffffffffffff, shl(128, 0xffffffffffffffff))
            let k := or(0xffffffff, shl(128, 0xffffffff))
            bad := and(or(add(and(v, even), k), add(and(shr(64, v), even), k)), or(shl(64, 1), shl(192, 1)))
        }
        if (bad) revert Rejected(NON_CANONICAL);
    }

    /// The two extension elements in the 32 bytes at calldata `ptr`.
    function _rdExt2(uint256 ptr) private pure returns (uint256 a, uint256 b) {
        uint256 v = _rd4(ptr);
        assembly {
            a := or(shr(192, v), and(v, shl(128, 0xffffffffffffffff)))
            b := or(shr(64, and(v, shl(64, 0xffffffffffffffff))), shl(128, and(v, 0xffffffffffffffff)))
        }
    }

    /// merkle_verify(): the leaf of `len` bytes at calldata `leafAt`, its path
    /// right after it, at `index`, in tree `tree` (0 the trace, 1 the
    /// composition chunks, 2 + k FRI layer k).
    ///
    /// The queries' paths share their top nodes. In the top memoHeight
    /// levels each node a path reaches is remembered with its hash and where
    /// its siblings from there up are in calldata. A later path that reaches
    /// the same node with the same hash and the same siblings (compared word
    /// by word) would hash to the same root, which the earlier path reached
    /// (or the call would have reverted), so it stops there: the verdict is
    /// the one hashing gives. Below that each hash is written straight into
    /// the half of the next level's input where it belongs (by the next index
    /// bit), and the sibling into the other half.
    function _merkleOk(
        Ctx memory c,
        uint256 tree,
        uint256 leafAt,
        uint256 len,
        uint256 depth,
        uint256 index,
        bytes32 root
    ) private view returns (bool ok) {
        uint256 height = c.memoHeight;
        // 2^(height + 1) entries of 64 bytes per tree, by heap index.
        uint256 memo;
        unchecked {
            memo = c.memo + tree * (128 << height);
        }
        assembly {
            // node: the current node's heap index (the root 1, its children
            // 2 and 3, ...); its parent is node >> 1, its low bit says
            // whether it is a right child.
            let node := or(shl(depth, 1), index)
            let m := mload(0x40)
            // m: 0x01 || left || right; the leaf's input 0x00 || leaf at m + 96.
            mstore8(m, 1)
            let leafIn := add(m, 96)
            mstore8(leafIn, 0)
            calldatacopy(add(leafIn, 1), leafAt, len)
            if iszero(staticcall(gas(), 2, leafIn, add(len, 1), add(m, add(1, shl(5, and(node, 1)))), 32)) {
                revert(0, 0)
            }
            let pathAt := add(leafAt, len)
            // Parents at height >= memoHeight: node >= 2^(memoHeight + 1).
            for { let top := shl(add(height, 1), 1) } iszero(lt(node, top)) { pathAt := add(pathAt, 32) } {
                mstore(add(m, sub(33, shl(5, and(node, 1)))), calldataload(pathAt))
                node := shr(1, node)
                if iszero(staticcall(gas(), 2, m, 65, add(m, add(1, shl(5, and(node, 1)))), 32)) { revert(0, 0) }
            }
            let acc := mload(add(m, add(1, shl(5, and(node, 1)))))
            for {} gt(node, 1) {} {
                // The memo entry of this node: its hash, and where its path
                // (the siblings from here up) starts in calldata, 0 if none.
                let e := add(memo, shl(6, node))
                let prev := mload(add(e, 32))
                if and(gt(prev, 0), eq(mload(e), acc)) {
                    let diff := 0
                    for { let n := node let a := pathAt } gt(n, 1) { n := shr(1, n) } {
                        diff := or(diff, xor(calldataload(a), calldataload(prev)))
                        a := add(a, 32)
                        prev := add(prev, 32)
                    }
                    // The same node and the same siblings as a path that
                    // reached the root (it would have reverted otherwise).
                    if iszero(diff) {
                        acc := root
                        break
                    }
                }
                mstore(e, acc)
                mstore(add(e, 32), pathAt)
                let s := shl(5, and(node, 1))
                mstore(add(m, add(1, s)), acc)
                mstore(add(m, sub(33, s)), calldataload(pathAt))
                if iszero(staticcall(gas(), 2, m, 65, add(m, 1), 32)) { revert(0, 0) }
                acc := mload(add(m, 1))
                node := shr(1, node)
                pathAt := add(pathAt, 32)
            }
            ok := eq(acc, root)
        }
    }

    function _root32(uint256 base, uint256 off) private pure returns (bytes32 r) {
        assembly {
            r := calldataload(add(base, off))
        }
    }

    function _checkQuery(Ctx memory c, Layout memory l, uint256 q, uint256 pos, uint256[] memory points) private view {
        // Offsets and indices stay far below 2^256 (_layout bounds them).
        unchecked {
            uint256 rowAt = c.base + l.queriesOff + q * l.perQuery;
            if (!_merkleOk(c, 0, rowAt, 64, l.logLde, pos, _root32(c.base, TRACE_ROOT_OFF))) {
                revert Rejected(BAD_TRACE_OPENING);
            }
            uint256 chunksAt = rowAt + 64 + 32 * l.logLde;
            if (!_merkleOk(c, 1, chunksAt, 32, l.logLde, pos, _root32(c.base, CHUNKS_ROOT_OFF))) {
                revert Rejected(BAD_CHUNKS_OPENING);
            }
            uint256 value = _deepEval(c, rowAt, chunksAt, points[4 * q + 2], points[4 * q + 3]);
            _checkFri(c, l, chunksAt + 32 + 32 * l.logLde, pos, value, points[4 * q], points[4 * q + 1]);
        }
    }

    /// deep_eval(): D at x from the opened trace row (at `traceAt`) and
    /// composition row, given 1/(x - z) and 1/(x - omega z).
    function _deepEval(Ctx memory c, uint256 traceAt, uint256 chunksAt, uint256 invA, uint256 invB)
        private
        pure
        returns (uint256)
    {
        (uint256 num, uint256 numNext) = _deepSums(c, traceAt, chunksAt);
        return _add(_mul(_sub(num, c.atZ), invA), _mul(_sub(numNext, c.atOmegaZ), invB));
    }

    /// sum_j g_j t_j + d_0 c_0 + d_1 c_1 and sum_j g'_j t_j over the row.
    /// The products (each below 2^131) are summed unreduced, per
    /// coordinate, and reduced once.
    function _deepSums(Ctx memory c, uint256 traceAt, uint256 chunksAt)
        private
        pure
        returns (uint256 num, uint256 numNext)
    {
        (uint256 c0, uint256 c1) = _rdExt2(chunksAt);
        uint256 t0 = _rd4(traceAt);
        uint256 t1 = _rd4(traceAt + 32);
        uint256[8] memory g = c.g;
        uint256[8] memory gNext = c.gNext;
        uint256[2] memory d = c.d;
        assembly {
            function prod(a, b) -> r0, r1 {
                let a0 := and(a, LO)
                let a1 := shr(128, a)
                let b0 := and(b, LO)
                let b1 := shr(128, b)
                r0 := add(mul(a0, b0), mul(NONRESIDUE, mul(a1, b1)))
                r1 := add(mul(a0, b1), mul(a1, b0))
            }
            let n0, n1 := prod(mload(d), c0)
            let p0, p1 := prod(mload(add(d, 32)), c1)
            n0 := add(n0, p0)
            n1 := add(n1, p1)
            let m0 := 0
            let m1 := 0
            let t := t0
            for { let j := 0 } lt(j, 8) { j := add(j, 1) } {
                if eq(j, 4) { t := t1 }
                let v := shr(192, t)
                t := shl(64, t)
                let gj := mload(add(g, shl(5, j)))
                n0 := add(n0, mul(and(gj, LO), v))
                n1 := add(n1, mul(shr(128, gj), v))
                gj := mload(add(gNext, shl(5, j)))
                m0 := add(m0, mul(and(gj, LO), v))
                m1 := add(m1, mul(shr(128, gj), v))
            }
            num := or(mod(n0, P), shl(128, mod(n1, P)))
            numNext := or(mod(m0, P), shl(128, mod(m1, P)))
        }
    }

    /// fri_verify_query(): every layer, then the remainder. x is the query's
    /// point in layer 0; in layer k it is x^(8^k), and the opened leaf's
    /// coset starts at x^(8^k) mu^(-slot).
    function _checkFri(
        Ctx memory c,
        Layout memory l,
        uint256 leafAt,
        uint256 pos,
        uint256 value,
        uint256 x,
        uint256 xInv
    ) private view {
        uint256[8] memory v = c.v;
        // depth stays >= 2 (_layout), slot below 8: nothing wraps.
        unchecked {
            for (uint256 k = 0; k < l.layers; k++) {
                uint256 depth = l.logLde - LOG_FOLD * (k + 1);
                uint256 j = pos & ((1 << depth) - 1);
                _openFriLayer(c, k, leafAt, depth, j, v);
                uint256 slot = pos >> depth;
                if (v[slot] != value) revert Rejected(BAD_FRI_VALUE);
                value = _fold(v, mulmod(xInv, c.muInv[(8 - slot) & 7], P), c.beta[k], c.muInv);
                pos = j;
                leafAt += 128 + 32 * depth;
                x = _pow8(x);
                xInv = _pow8(xInv);
            }
        }
        if (_remainderAt(c.rem, x) != value) revert Rejected(BAD_REMAINDER);
    }

    /// Layer k's leaf at calldata `leafAt` opens at j; its 8 values go to v.
    function _openFriLayer(Ctx memory c, uint256 k, uint256 leafAt, uint256 depth, uint256 j, uint256[8] memory v)
        private
        view
    {
        unchecked {
            if (!_merkleOk(c, 2 + k, leafAt, 128, depth, j, _root32(c.base, ROOTS_OFF + 32 * k))) {
                revert Rejected(BAD_FRI_OPENING);
            }
            (v[0], v[1]) = _rdExt2(leafAt);
            (v[2], v[3]) = _rdExt2(leafAt + 32);
            (v[4], v[5]) = _rdExt2(leafAt + 64);
            (v[6], v[7]) = _rdExt2(leafAt + 96);
        }
    }

    function _pow8(uint256 x) private pure returns (uint256) {
        x = mulmod(x, x, P);
        x = mulmod(x, x, P);
        return mulmod(x, x, P);
    }

    /// fri_fold_coset(): sum_k beta^k f_k(x^8) from v_m = f(x mu^m), with
    /// xInv = 1/x. Three binary folds with beta, beta^2, beta^4 give the same
    /// value (the exponent of beta collects k's bits), for 7 products, not 64.
    /// Each binary fold at +-y is ((a + b) + beta/y (a - b)) / 2; the three
    /// halvings are one product by 1/8 at the end.
    function _fold(uint256[8] memory v, uint256 xInv, uint256 beta, uint256[8] memory muInv)
        private
        pure
        returns (uint256 r)
    {
        assembly {
            /// 2 x the binary fold of a, b with w = beta/y.
            function fold2(a, b, w) -> f {
                let a0 := and(a, LO)
                let a1 := shr(128, a)
                let b0 := and(b, LO)
                let b1 := shr(128, b)
                let w0 := and(w, LO)
                let w1 := shr(128, w)
                // a - b, unreduced: below 2^65.
                let d0 := add(a0, sub(P, b0))
                let d1 := add(a1, sub(P, b1))
                f := or(
                    addmod(add(add(a0, b0), mul(w0, d0)), mul(NONRESIDUE, mul(w1, d1)), P),
                    shl(128, addmod(add(add(a1, b1), mul(w0, d1)), mul(w1, d0), P))
                )
            }
            function scale(a, s) -> f {
                f := or(mulmod(and(a, LO), s, P), shl(128, mulmod(shr(128, a), s, P)))
            }
            function square(a) -> f {
                let a0 := and(a, LO)
                let a1 := shr(128, a)
                f := or(addmod(mul(a0, a0), mul(NONRESIDUE, mul(a1, a1)), P), shl(128, mulmod(add(a0, a0), a1, P)))
            }
            for { let m := 0 } lt(m, 4) { m := add(m, 1) } {
                let at := add(v, shl(5, m))
                let w := scale(beta, mulmod(xInv, mload(add(muInv, shl(5, m))), P))
                mstore(at, fold2(mload(at), mload(add(at, 128)), w))
            }
            beta := square(beta)
            xInv := mulmod(xInv, xInv, P)
            for { let m := 0 } lt(m, 2) { m := add(m, 1) } {
                let at := add(v, shl(5, m))
                let w := scale(beta, mulmod(xInv, mload(add(muInv, shl(6, m))), P))
                mstore(at, fold2(mload(at), mload(add(at, 64)), w))
            }
            r := fold2(mload(v), mload(add(v, 32)), scale(square(beta), mulmod(xInv, xInv, P)))
            r := scale(r, INV8)
        }
    }

    /// The remainder polynomial at a base-field point, by Horner's rule
    /// (each step's product is below 2^128: one reduction).
    function _remainderAt(uint256[] memory rem, uint256 x) private pure returns (uint256 acc) {
        assembly {
            let a0 := 0
            let a1 := 0
            for { let at := add(rem, shl(5, mload(rem))) } gt(at, rem) { at := sub(at, 32) } {
                let r := mload(at)
                a0 := addmod(mul(a0, x), and(r, LO), P)
                a1 := addmod(mul(a1, x), shr(128, r), P)
            }
            acc := or(a0, shl(128, a1))
        }
    }
}
