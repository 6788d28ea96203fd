package io.countersign.approvals;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;

/**
 * What an approval is bound to: SHA-256 over agent, database, SQL text and each parameter value.
 * Every field is length-prefixed so that no two different inputs serialise to the same bytes
 * (e.g. moving a character from the SQL into the first parameter changes the hash). A null
 * parameter (SQL NULL) is encoded distinctly from the string "null".
 */
public final class BindingHash {

    private BindingHash() {}

    public static String of(String agent, String database, String sql, List<String> parameters) {
        MessageDigest md;
        try {
            md = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        field(md, agent);
        field(md, database);
        field(md, sql);
        md.update(ByteBuffer.allocate(4).putInt(parameters.size()).array());
        for (String p : parameters) {
            field(md, p);
        }
        return HexFormat.of().formatHex(md.digest());
    }

    private static void field(MessageDigest md, String value) {
        if (value == null) {
            md.update(ByteBuffer.allocate(4).putInt(-1).array());
            return;
        }
        byte[] b = value.getBytes(StandardCharsets.UTF_8);
        md.update(ByteBuffer.allocate(4).putInt(b.length).array());
        md.update(b);
    }

    /** Hex SHA-256 of one string; used to index long fingerprints and to keep bearer tokens out of memory. */
    public static String sha256(String value) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(value.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
