package io.countersign.analysis.catalog;

/**
 * A function or procedure defined in the database (not a built-in).
 *
 * @param schema          its schema
 * @param name            its name
 * @param language        implementation language (sql, plpgsql, c, plpython3u, ...)
 * @param securityDefiner runs with its owner's rights
 */
public record FunctionInfo(String schema, String name, String language, boolean securityDefiner) {

    /** Languages in which a function can reach outside the database. */
    public boolean untrustedLanguage() {
        String l = language == null ? "" : language.toLowerCase(java.util.Locale.ROOT);
        return l.equals("c") || l.endsWith("u") || l.equals("internal") && !schema.equals("pg_catalog");
    }
}
