package io.countersign.audit;

import java.util.HexFormat;

/**
 * A record with its place in the chain: its sequence number, the SHA-256 of the previous record's
 * canonical bytes, and its own hash (SHA-256 of its canonical bytes, which include seq and prevHash).
 */
record ChainedRecord(long seq, byte[] prevHash, byte[] hash, AuditRecord record) {

    String prevHashHex() {
        return HexFormat.of().formatHex(prevHash);
    }

    String hashHex() {
        return HexFormat.of().formatHex(hash);
    }

    static ChainedRecord chain(long seq, byte[] prevHash, AuditRecord record) {
        byte[] canonical = RecordCodec.encode(seq, prevHash, record);
        return new ChainedRecord(seq, prevHash, Hashes.sha256(canonical), record);
    }
}
