package io.countersign.approvals.policy;

import java.util.Locale;
import java.util.regex.Pattern;

/** A case-insensitive shell-style pattern: {@code *} any run of characters, {@code ?} one character. */
public record Glob(String text, Pattern pattern) {

    public static Glob of(String text) {
        StringBuilder re = new StringBuilder();
        for (char c : text.toLowerCase(Locale.ROOT).toCharArray()) {
            switch (c) {
                case '*' -> re.append(".*");
                case '?' -> re.append('.');
                default -> re.append(Pattern.quote(String.valueOf(c)));
            }
        }
        return new Glob(text, Pattern.compile(re.toString()));
    }

    public boolean matches(String value) {
        return value != null && pattern.matcher(value.toLowerCase(Locale.ROOT)).matches();
    }

    @Override
    public String toString() {
        return text;
    }
}
