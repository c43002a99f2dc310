// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// @title Attestor
/// @notice Records that a proof was attested: the keccak256 hash of the proof
/// file's bytes, who attested it, and in which block. A hash is recorded once;
/// attesting it again reverts, so a caller checks `attestationOf` first.
contract Attestor {
    struct Attestation {
        address attester;
        uint64 blockNumber;
        uint64 timestamp;
    }

    mapping(bytes32 => Attestation) private attestations;

    /// Number of proofs attested so far.
    uint256 public count;

    /// `label` names the proof for a human reader (for example its file name).
    event Attested(bytes32 indexed proofHash, address indexed attester, string label);

    error AlreadyAttested(bytes32 proofHash, uint64 blockNumber);

    function attest(bytes32 proofHash, string calldata label) external {
        Attestation storage a = attestations[proofHash];
        if (a.attester != address(0)) revert AlreadyAttested(proofHash, a.blockNumber);
        attestations[proofHash] = Attestation(msg.sender, uint64(block.number), uint64(block.timestamp));
        count += 1;
        emit Attested(proofHash, msg.sender, label);
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
}
