package io.countersign.server.config;

/**
 * A part of the config that checks its own values beyond what the YAML types enforce. The
 * {@link ConfigValidator} finds every section reachable from the root (record components and list
 * elements) and calls {@link #check}; a new top-level section only needs to implement this.
 */
public interface ConfigSection {

    /**
     * Adds a problem for every bad value.
     *
     * @param at   this section's key path (e.g. {@code agents[1]})
     * @param root the whole config, for cross-references such as an agent naming a backend
     */
    void check(String at, CountersignConfig root, Problems problems);
}
