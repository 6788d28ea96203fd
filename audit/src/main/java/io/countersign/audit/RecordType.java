package io.countersign.audit;

/** The three Parquet file sets; {@link #directory()} is the top-level folder each one lives under. */
public enum RecordType {
    STATEMENT("statements", (byte) 1),
    APPROVAL("approvals", (byte) 2),
    ADMIN("admin", (byte) 3);

    private final String directory;
    private final byte tag;

    RecordType(String directory, byte tag) {
        this.directory = directory;
        this.tag = tag;
    }

    public String directory() {
        return directory;
    }

    byte tag() {
        return tag;
    }

    static RecordType ofTag(byte tag) {
        for (RecordType t : values()) {
            if (t.tag == tag) {
                return t;
            }
        }
        throw new IllegalArgumentException("unknown audit record type tag " + tag);
    }

    static RecordType ofDirectory(String directory) {
        for (RecordType t : values()) {
            if (t.directory.equals(directory)) {
                return t;
            }
        }
        throw new IllegalArgumentException("unknown audit record directory '" + directory + "'");
    }
}
