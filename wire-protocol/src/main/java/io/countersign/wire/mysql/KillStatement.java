package io.countersign.wire.mysql;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** {@code KILL [QUERY | CONNECTION] <id>}: the statement MySQL clients cancel with, naming Countersign's ids. */
record KillStatement(boolean queryOnly, long connectionId) {

    private static final Pattern KILL = Pattern.compile(
            "^\\s*KILL\\s+(?:(?:HARD|SOFT)\\s+)?(?:(QUERY|CONNECTION)\\s+)?(\\d{1,19})\\s*;?\\s*$",
            Pattern.CASE_INSENSITIVE);

    static KillStatement parse(String sql) {
        if (sql.length() > 64) {
            return null;
        }
        int i = 0;
        while (i < sql.length() && Character.isWhitespace(sql.charAt(i))) {
            i++;
        }
        if (i == sql.length() || (sql.charAt(i) | 0x20) != 'k') {
            return null; // not a KILL: skip the regular expression, this runs for every COM_QUERY
        }
        Matcher m = KILL.matcher(sql);
        if (!m.matches()) {
            return null;
        }
        return new KillStatement("QUERY".equalsIgnoreCase(m.group(1)), Long.parseLong(m.group(2)));
    }

    /** The same statement for the backend, naming the backend's thread id. */
    String forBackend(long backendThreadId) {
        return (queryOnly ? "KILL QUERY " : "KILL CONNECTION ") + backendThreadId;
    }
}
