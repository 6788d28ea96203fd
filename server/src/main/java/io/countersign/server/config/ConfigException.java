package io.countersign.server.config;

import java.util.List;

/**
 * The config file cannot be used. The message names the file, each offending key path (for example
 * {@code agents[1].backends}) and what is expected there, on one line (problems separated by "; ").
 */
public final class ConfigException extends RuntimeException {

    private final String source;
    private final List<ConfigProblem> problems;

    public ConfigException(String source, List<ConfigProblem> problems) {
        super(render(source, problems));
        this.source = source;
        this.problems = List.copyOf(problems);
    }

    public ConfigException(String source, String keyPath, String problem) {
        this(source, List.of(new ConfigProblem(keyPath, problem)));
    }

    /** The file (or other source) the config came from. */
    public String source() {
        return source;
    }

    public List<ConfigProblem> problems() {
        return problems;
    }

    private static String render(String source, List<ConfigProblem> problems) {
        if (problems.size() == 1) {
            return source + ": " + problems.get(0);
        }
        // one line, so the CLI's "one-line reason" holds even with several problems
        StringBuilder sb = new StringBuilder(source).append(": ").append(problems.size()).append(" problems: ");
        for (int i = 0; i < problems.size(); i++) {
            sb.append(i == 0 ? "" : "; ").append(problems.get(i));
        }
        return sb.toString();
    }
}
