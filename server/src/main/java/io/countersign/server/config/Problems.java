package io.countersign.server.config;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

/** Collects validation problems so one run of the check reports all of them. */
public final class Problems {

    private final List<ConfigProblem> found = new ArrayList<>();

    public void add(String keyPath, String problem) {
        found.add(new ConfigProblem(keyPath, problem));
    }

    /** Reports {@code keyPath} as missing when {@code value} is null (or an empty string or collection). */
    public boolean require(Object value, String keyPath, String expected) {
        boolean missing = value == null
                || (value instanceof String s && s.isBlank())
                || (value instanceof Collection<?> c && c.isEmpty());
        if (missing) {
            add(keyPath, "missing; expected " + expected);
        }
        return !missing;
    }

    public void port(Integer port, String keyPath) {
        if (port != null && (port < 0 || port > 65535)) {
            add(keyPath, port + " is not a TCP port; expected a number from 0 to 65535 (0 picks a free port)");
        }
    }

    public boolean isEmpty() {
        return found.isEmpty();
    }

    public List<ConfigProblem> list() {
        return List.copyOf(found);
    }

    static String join(String path, String key) {
        return path.isEmpty() ? key : path + "." + key;
    }
}
