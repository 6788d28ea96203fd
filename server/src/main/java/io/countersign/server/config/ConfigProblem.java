package io.countersign.server.config;

/**
 * One thing wrong with the config.
 *
 * @param keyPath where, e.g. {@code listeners.postgres.port} or {@code agents[1].backends}; empty for the whole file
 * @param problem what is wrong and what is expected instead
 */
public record ConfigProblem(String keyPath, String problem) {

    @Override
    public String toString() {
        return keyPath.isEmpty() ? problem : keyPath + ": " + problem;
    }
}
