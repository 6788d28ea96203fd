package io.countersign.server.config;

import java.util.Map;

/**
 * Replaces {@code ${NAME}} and {@code ${NAME:-default}} in config values with environment
 * variables, so secrets stay out of the file. {@code $${} writes a literal {@code ${}. A variable
 * that is unset (and has no default) is an error, never an empty string.
 */
final class EnvSubstitution {

    /** Thrown with the message only; the loader adds the file and key path. */
    static final class MissingVariable extends RuntimeException {
        MissingVariable(String message) {
            super(message, null, false, false);
        }
    }

    private final Map<String, String> env;

    EnvSubstitution(Map<String, String> env) {
        this.env = env;
    }

    String apply(String value) {
        int start = value.indexOf("${");
        if (start < 0) {
            return value;
        }
        StringBuilder out = new StringBuilder(value.length());
        int i = 0;
        while (i < value.length()) {
            int open = value.indexOf("${", i);
            if (open < 0) {
                out.append(value, i, value.length());
                break;
            }
            if (open > 0 && value.charAt(open - 1) == '$') {
                // "$${" is an escaped "${": keep one dollar and the brace as they are
                out.append(value, i, open - 1).append("${");
                i = open + 2;
                continue;
            }
            int close = value.indexOf('}', open);
            if (close < 0) {
                throw new MissingVariable("unterminated '${' in \"" + value + "\"; expected ${NAME} or ${NAME:-default} (write $${ for a literal ${)");
            }
            out.append(value, i, open);
            String expr = value.substring(open + 2, close);
            int dflt = expr.indexOf(":-");
            String name = dflt < 0 ? expr : expr.substring(0, dflt);
            if (!name.matches("[A-Za-z_][A-Za-z0-9_]*")) {
                throw new MissingVariable("'${" + expr + "}' does not name an environment variable; expected ${NAME} or ${NAME:-default} with NAME made of letters, digits and _");
            }
            String resolved = env.get(name);
            if (resolved == null) {
                if (dflt < 0) {
                    throw new MissingVariable("environment variable " + name + " is not set; set it, or write ${" + name + ":-default} to give a default");
                }
                resolved = expr.substring(dflt + 2);
            }
            out.append(resolved);
            i = close + 1;
        }
        return out.toString();
    }
}
