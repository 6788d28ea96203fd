package io.countersign.analysis.catalog;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Which columns are sensitive, from configuration: {@code schema.table.column} glob patterns ({@code *} any
 * run, {@code ?} one character) and tags, each tag a list of column-name globs (e.g. email: *email*).
 * Matching is case-insensitive.
 */
public final class SensitiveColumns {

    /** Tags that ship by default; configuration may replace them. */
    public static final Map<String, List<String>> DEFAULT_TAGS = defaultTags();

    private final List<Rule> rules;

    private record Rule(String label, Pattern pattern, boolean columnOnly) {}

    private SensitiveColumns(List<Rule> rules) {
        this.rules = List.copyOf(rules);
    }

    public static SensitiveColumns none() {
        return new SensitiveColumns(List.of());
    }

    public static SensitiveColumns defaults() {
        return of(List.of(), DEFAULT_TAGS);
    }

    /**
     * @param patterns {@code schema.table.column} globs; each must have exactly three dot-separated parts
     * @param tags     tag name to column-name globs
     * @throws IllegalArgumentException naming the bad pattern and the expected form
     */
    public static SensitiveColumns of(List<String> patterns, Map<String, List<String>> tags) {
        List<Rule> rules = new ArrayList<>();
        for (String p : patterns) {
            String[] parts = p.split("\\.", -1);
            if (parts.length != 3 || p.isBlank()) {
                throw new IllegalArgumentException("sensitive column pattern '" + p
                        + "' must have the form schema.table.column (globs * and ? allowed), e.g. public.customers.email or *.*.ssn");
            }
            rules.add(new Rule("pattern " + p, glob(p), false));
        }
        tags.forEach((tag, globs) -> {
            for (String g : globs) {
                if (g.contains(".")) {
                    throw new IllegalArgumentException("tag '" + tag + "' pattern '" + g
                            + "' must be a column-name glob without dots, e.g. *email*");
                }
                rules.add(new Rule("tag " + tag, glob(g), true));
            }
        });
        return new SensitiveColumns(rules);
    }

    private static Pattern glob(String g) {
        StringBuilder re = new StringBuilder();
        for (char c : g.toLowerCase(Locale.ROOT).toCharArray()) {
            switch (c) {
                case '*' -> re.append(".*");
                case '?' -> re.append('.');
                default -> re.append(Pattern.quote(String.valueOf(c)));
            }
        }
        return Pattern.compile(re.toString());
    }

    /** Verdicts by lower-cased qualified name; the wire check asks for the same few columns on every result. */
    private final java.util.concurrent.ConcurrentHashMap<String, String> verdicts = new java.util.concurrent.ConcurrentHashMap<>();
    private static final String NOT_SENSITIVE = "";
    private static final int MAX_CACHED = 100_000;

    /** The matching rule's label ("tag email", "pattern public.customers.*"), or null when not sensitive. */
    public String match(String schema, String table, String column) {
        String key = schema + "." + table + "." + column;
        String cached = verdicts.get(key);
        if (cached != null) {
            return cached == NOT_SENSITIVE ? null : cached;
        }
        String verdict = matchUncached(schema, table, column);
        if (verdicts.size() < MAX_CACHED) {
            verdicts.put(key, verdict == null ? NOT_SENSITIVE : verdict);
        }
        return verdict;
    }

    private String matchUncached(String schema, String table, String column) {
        String col = column.toLowerCase(Locale.ROOT);
        String full = null;
        for (Rule r : rules) {
            if (r.columnOnly()) {
                if (r.pattern().matcher(col).matches()) {
                    return r.label();
                }
            } else {
                if (full == null) {
                    full = (schema + "." + table + "." + column).toLowerCase(Locale.ROOT);
                }
                if (r.pattern().matcher(full).matches()) {
                    return r.label();
                }
            }
        }
        return null;
    }

    /** Same, for a resolved {@code schema.table.column} string. */
    public String match(String qualifiedColumn) {
        // the cache key is this very spelling: answer from it without splitting and joining the name again
        String cached = verdicts.get(qualifiedColumn);
        if (cached != null) {
            return cached == NOT_SENSITIVE ? null : cached;
        }
        int a = qualifiedColumn.indexOf('.');
        int b = qualifiedColumn.lastIndexOf('.');
        if (a < 0 || a == b) {
            return null;
        }
        return match(qualifiedColumn.substring(0, a), qualifiedColumn.substring(a + 1, b), qualifiedColumn.substring(b + 1));
    }

    private static Map<String, List<String>> defaultTags() {
        Map<String, List<String>> m = new LinkedHashMap<>();
        m.put("email", List.of("*email*", "*e_mail*"));
        m.put("ssn", List.of("ssn", "*_ssn", "ssn_*", "social_security*", "national_id*", "tax_id*"));
        m.put("card_number", List.of("card_number", "*card_num*", "cc_number", "credit_card*", "pan", "cvv", "cvc"));
        m.put("phone", List.of("phone", "phone_*", "*_phone", "*phone_number*", "mobile", "mobile_*"));
        m.put("secret", List.of("password*", "*_password", "passwd", "*secret*", "*api_key*", "*token"));
        return java.util.Collections.unmodifiableMap(m);
    }
}
