'use strict';
// Fresh, valid circuit inputs for every run: a new secret, a new Merkle tree,
// a new Baby Jubjub keypair and a new signed message, all from the kernel's
// randomness (crypto.randomBytes). circomlibjs computes Poseidon and
// EdDSA-Poseidon exactly as circomlib's circuits do.

const crypto = require('crypto');
const circomlibjs = require('circomlibjs');
const { circuitByName } = require('./circuits.cjs');

// A uniformly random 248-bit value: always below the BN128 scalar field's
// modulus (~2^253.6), so it is a field element as it stands.
function randomField() {
  return BigInt('0x' + crypto.randomBytes(31).toString('hex'));
}

let toolsPromise = null;
function tools() {
  if (!toolsPromise) {
    toolsPromise = circomlibjs.buildEddsa().then((eddsa) => {
      const poseidon = eddsa.poseidon;
      const F = poseidon.F;
      return { eddsa, F, hash: (xs) => F.toObject(poseidon(xs)) };
    });
  }
  return toolsPromise;
}

async function poseidonPreimage() {
  const { hash } = await tools();
  const secret = randomField();
  return { input: { secret, hash: hash([secret]) }, note: 'new random secret' };
}

// A full tree of 2^levels random leaves, one of which is Poseidon(secret) at
// a random position; the input is that leaf's authentication path.
async function merkleMembership() {
  const { hash } = await tools();
  const levels = circuitByName('merkle_membership').params[0];
  const size = 2 ** levels;
  const secret = randomField();
  const index = crypto.randomInt(size);

  let layer = Array.from({ length: size }, randomField);
  layer[index] = hash([secret]);

  const pathElements = [];
  const pathIndices = [];
  let pos = index;
  for (let level = 0; level < levels; level++) {
    pathElements.push(layer[pos ^ 1]);
    pathIndices.push(pos & 1);
    const next = [];
    for (let i = 0; i < layer.length; i += 2) next.push(hash([layer[i], layer[i + 1]]));
    layer = next;
    pos >>= 1;
  }
  return {
    input: { secret, pathElements, pathIndices, root: layer[0] },
    note: `new tree of ${size} leaves, member at leaf ${index}`,
  };
}

// A new keypair signs a new message; the circuit's M is the Poseidon hash of
// the message text cut into 31-byte field elements.
async function eddsaSignature() {
  const { eddsa, F, hash } = await tools();
  const privateKey = crypto.randomBytes(32);
  const [Ax, Ay] = eddsa.prv2pub(privateKey);
  const session = process.env.SESSION_ID || 'local';
  const text = `phasestream session ${session} nonce ${crypto.randomBytes(8).toString('hex')}`;
  const bytes = Buffer.from(text, 'utf8');
  const chunks = [];
  for (let i = 0; i < bytes.length; i += 31) {
    chunks.push(BigInt('0x' + bytes.subarray(i, i + 31).toString('hex')));
  }
  const M = hash(chunks);
  const sig = eddsa.signPoseidon(privateKey, F.e(M));
  return {
    input: {
      Ax: F.toObject(Ax),
      Ay: F.toObject(Ay),
      M,
      R8x: F.toObject(sig.R8[0]),
      R8y: F.toObject(sig.R8[1]),
      S: sig.S,
    },
    note: `new keypair signed "${text}"`,
  };
}

const GENERATORS = {
  poseidon_preimage: poseidonPreimage,
  merkle_membership: merkleMembership,
  eddsa_signature: eddsaSignature,
};

// Inputs for one circuit: { input, note }.
function freshInputs(circuitName) {
  const gen = GENERATORS[circuitName];
  if (!gen) throw new Error(`no input generator for circuit ${circuitName}`);
  return gen();
}

// Build the hash and curve tools ahead of the first freshInputs() call.
async function prepareInputs() {
  await tools();
}

module.exports = { freshInputs, prepareInputs, randomField };
