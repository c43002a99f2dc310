// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// @title Attestor
/// @notice Records proofs that the chain itself verified. `attestVerified`
/// calls a verifier contract with an ABI-encoded verification call (the
/// proof and its public inputs, e.g. Groth16Verifier.verifyProof or
/// StarkVerifier.verify) and records the proof only when that call succeeds
/// and returns true, so a hash on the chain means the chain checked the
/// proof. The hash is keccak256(verifier address || call data): it names the
/// proof, its public inputs and the verifier that accepted them. A hash is
/// recorded once; attesting it again reverts (AlreadyAttested), so a caller
/// checks `attestationOf` first. There is no entry point that records a hash
/// without a verification. No owner, no upgrade: the state is the mapping.
contract Attestor {
    struct Attestation {
        address attester;
        uint64 blockNumber;
        uint64 timestamp;
        address verifier;
    }

    mapping(bytes32 => Attestation) private attestations;

    /// Number of proofs attested so far.
    uint256 public count;

    /// `label` names the proof for a human reader (for example its file name).
    event Attested(bytes32 indexed proofHash, address indexed attester, string label);
    /// The verifier contract that accepted the proof recorded as `proofHash`.
    event VerifiedBy(bytes32 indexed proofHash, address indexed verifier);

    error AlreadyAttested(bytes32 proofHash, uint64 blockNumber);
    error NotVerified(address verifier);

    /// The hash `attestVerified` records for this verifier and call.
    function proofHashOf(address verifier, bytes calldata verifyCall) public pure returns (bytes32) {
        return keccak256(abi.encodePacked(verifier, verifyCall));
    }

    /// Calls `verifier` with `verifyCall` (read-only) and records the proof
    /// when the call returns true; reverts NotVerified otherwise.
    function attestVerified(address verifier, bytes calldata verifyCall, string calldata label)
        external
        returns (bytes32 proofHash)
    {
        proofHash = proofHashOf(verifier, verifyCall);
        Attestation storage a = attestations[proofHash];
        if (a.attester != address(0)) revert AlreadyAttested(proofHash, a.blockNumber);
        if (verifier.code.length == 0) revert NotVerified(verifier);
        (bool ok, bytes memory ret) = verifier.staticcall(verifyCall);
        if (!ok || ret.length != 32 || abi.decode(ret, (uint256)) != 1) revert NotVerified(verifier);
        attestations[proofHash] = Attestation(msg.sender, uint64(block.number), uint64(block.timestamp), verifier);
        count += 1;
        emit Attested(proofHash, msg.sender, label);
        emit VerifiedBy(proofHash, verifier);
    }

    /// The attestation of `proofHash`; attester is the zero address when there is none.
    function attestationOf(bytes32 proofHash)
        external
        view
        returns (address attester, uint64 blockNumber, uint64 timestamp)
    {
        Attestation storage a = attestations[proofHash];
        return (a.attester, a.blockNumber, a.timestamp);
    }

    /// The verifier that accepted `proofHash`; the zero address when none did.
    function verifierOf(bytes32 proofHash) external view returns (address) {
        return attestations[proofHash].verifier;
    }
}
