package io.countersign.server.config;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.countersign.approvals.policy.PolicyEngine;
import io.countersign.approvals.policy.PolicyException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Where the approval policy lives. Without a file the shipped default policy applies.
 *
 * @param file                 a policy YAML file, re-read when it changes (connections stay up)
 * @param reloadSeconds        how often the file is checked for changes (default 2)
 */
public record PolicyConfig(String file, @JsonProperty("reload-seconds") Integer reloadSeconds) implements ConfigSection {

    public static final PolicyConfig DEFAULT = new PolicyConfig(null, null);

    public PolicyConfig {
        reloadSeconds = reloadSeconds == null ? 2 : reloadSeconds;
    }

    @Override
    public void check(String at, CountersignConfig root, Problems problems) {
        if (file == null) {
            return;
        }
        Path p = Path.of(file);
        if (!Files.isReadable(p)) {
            problems.add(Problems.join(at, "file"), "cannot read '" + file + "'; expected a readable policy YAML file (or leave 'file' out for the default policy)");
            return;
        }
        try {
            PolicyEngine.load(p);
        } catch (PolicyException e) {
            problems.add(Problems.join(at, "file"), e.getMessage());
        }
        if (reloadSeconds < 1) {
            problems.add(Problems.join(at, "reload-seconds"), reloadSeconds + " is too small; expected seconds, at least 1");
        }
    }
}
