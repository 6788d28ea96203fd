package io.countersign.tracking;

/**
 * Which result columns come in binary format, as the PostgreSQL Bind message's result format codes
 * say: no code means all text, one code applies to every column, otherwise one code per column.
 * The simple query protocol and MySQL's text protocol are {@link #ALL_TEXT}.
 */
public final class ResultFormats {

    public static final ResultFormats ALL_TEXT = new ResultFormats(new short[0]);
    public static final ResultFormats ALL_BINARY = new ResultFormats(new short[] {1});

    /**
     * The session did not say (extended protocol without the Bind codes at hand). Key values are then
     * decoded only where the bytes can be read one way alone (a 36-byte uuid is text, a 3-byte int4 is
     * text, a 4-byte int4 that is not all digits is binary); anything else marks the keys incomplete.
     */
    public static final ResultFormats UNKNOWN = new ResultFormats(null);

    private final short[] codes;

    private ResultFormats(short[] codes) {
        this.codes = codes;
    }

    /** From the Bind message's result format codes (0 = text, 1 = binary). */
    public static ResultFormats of(short... codes) {
        for (short c : codes) {
            if (c != 0 && c != 1) {
                throw new IllegalArgumentException("result format code " + c + " is neither 0 (text) nor 1 (binary); "
                        + "pass the codes exactly as the Bind message carried them");
            }
        }
        return new ResultFormats(codes.clone());
    }

    /** Whether the formats are known at all; see {@link #UNKNOWN}. */
    public boolean known() {
        return codes != null;
    }

    public boolean binary(int column) {
        if (codes == null) {
            return false;
        }
        return switch (codes.length) {
            case 0 -> false;
            case 1 -> codes[0] == 1;
            default -> column < codes.length && codes[column] == 1;
        };
    }
}
