package io.countersign.approvals;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.Locale;
import java.util.Set;
import java.util.function.Function;

/**
 * Reads reviewers and agent identities from YAML, strictly (unknown keys and bad values fail with
 * the key path):
 *
 * <pre>
 * reviewers:
 *   - name: alice
 *     email: alice@example.com
 *     groups: [dba, security]
 *     token-sha256: 5e88...          # hex SHA-256 of the token (preferred: the config holds no secret)
 *   - name: bob
 *     groups: [dba]
 *     token-env: COUNTERSIGN_TOKEN_BOB   # or the token in an environment variable
 * agents: [reporting-bot, etl]       # identities that may never review
 * </pre>
 * A plain {@code token:} is accepted too, for tests and demos.
 */
public final class ReviewerConfig {

    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
    private static final Set<String> TOP = Set.of("reviewers", "agents");
    private static final Set<String> REVIEWER = Set.of("name", "email", "groups", "token", "token-sha256", "token-env", "kind");

    private ReviewerConfig() {}

    public static ReviewerDirectory parse(String yaml, String source) {
        return parse(yaml, source, System::getenv);
    }

    static ReviewerDirectory parse(String yaml, String source, Function<String, String> env) {
        JsonNode root;
        try {
            root = YAML.readTree(yaml);
        } catch (JsonProcessingException e) {
            throw fail(source, "", "is not valid YAML: " + e.getOriginalMessage());
        }
        if (root == null || !root.isObject()) {
            throw fail(source, "", "must be a mapping with 'reviewers' and optionally 'agents'");
        }
        return parse(root, source, env);
    }

    /** Parses an already-read node (e.g. the {@code approvals:} section of the main config). */
    public static ReviewerDirectory parse(JsonNode root, String source, Function<String, String> env) {
        keys(root, "", TOP, source);
        ReviewerDirectory.Builder b = ReviewerDirectory.builder();
        JsonNode list = root.path("reviewers");
        if (!list.isArray()) {
            throw fail(source, "reviewers", "is missing or not a list of reviewers (name, groups, token-sha256)");
        }
        Set<String> names = new HashSet<>();
        for (int i = 0; i < list.size(); i++) {
            String path = "reviewers[" + i + "]";
            JsonNode r = list.get(i);
            keys(r, path, REVIEWER, source);
            String name = text(r.get("name"), path + ".name", source);
            if (!names.add(name.toLowerCase(Locale.ROOT))) {
                throw fail(source, path + ".name", "'" + name + "' is listed twice");
            }
            Set<String> groups = new LinkedHashSet<>();
            JsonNode g = r.path("groups");
            if (!g.isArray() || g.isEmpty()) {
                throw fail(source, path + ".groups", "must be a non-empty list of reviewer groups, e.g. [dba]");
            }
            for (int j = 0; j < g.size(); j++) {
                groups.add(text(g.get(j), path + ".groups[" + j + "]", source));
            }
            Reviewer.Kind kind = Reviewer.Kind.HUMAN;
            if (r.has("kind")) {
                String k = text(r.get("kind"), path + ".kind", source).toUpperCase(Locale.ROOT);
                try {
                    kind = Reviewer.Kind.valueOf(k);
                } catch (IllegalArgumentException e) {
                    throw fail(source, path + ".kind", "'" + k.toLowerCase(Locale.ROOT) + "' is not one of human, agent");
                }
            }
            Reviewer reviewer = new Reviewer(name, r.has("email") ? text(r.get("email"), path + ".email", source) : "", groups, kind);
            int tokens = (r.has("token") ? 1 : 0) + (r.has("token-sha256") ? 1 : 0) + (r.has("token-env") ? 1 : 0);
            if (tokens != 1) {
                throw fail(source, path, "needs exactly one of token-sha256, token-env, token (found " + tokens + ")");
            }
            try {
                if (r.has("token-sha256")) {
                    String hex = text(r.get("token-sha256"), path + ".token-sha256", source).toLowerCase(Locale.ROOT);
                    if (!hex.matches("[0-9a-f]{64}")) {
                        throw fail(source, path + ".token-sha256", "must be 64 hex digits (sha256sum of the token)");
                    }
                    b.reviewerWithDigest(reviewer, hex);
                } else if (r.has("token-env")) {
                    String var = text(r.get("token-env"), path + ".token-env", source);
                    String value = env.apply(var);
                    if (value == null || value.isBlank()) {
                        throw fail(source, path + ".token-env", "names environment variable " + var + ", which is not set");
                    }
                    b.reviewer(reviewer, value);
                } else {
                    b.reviewer(reviewer, text(r.get("token"), path + ".token", source));
                }
            } catch (IllegalArgumentException e) {
                throw fail(source, path, e.getMessage());
            }
        }
        JsonNode agents = root.path("agents");
        if (!agents.isMissingNode()) {
            if (!agents.isArray()) {
                throw fail(source, "agents", "must be a list of agent names");
            }
            for (int i = 0; i < agents.size(); i++) {
                String agent = text(agents.get(i), "agents[" + i + "]", source);
                if (names.contains(agent.toLowerCase(Locale.ROOT))) {
                    throw fail(source, "agents[" + i + "]", "'" + agent + "' is also listed as a reviewer; an agent can never review");
                }
                b.agent(agent);
            }
        }
        return b.build();
    }

    private static void keys(JsonNode node, String path, Set<String> allowed, String source) {
        if (!node.isObject()) {
            throw fail(source, path, "must be a mapping with keys " + String.join(", ", allowed.stream().sorted().toList()));
        }
        Iterator<String> it = node.fieldNames();
        while (it.hasNext()) {
            String key = it.next();
            if (!allowed.contains(key)) {
                throw fail(source, path.isEmpty() ? key : path + "." + key, "is not a known key; expected one of "
                        + String.join(", ", allowed.stream().sorted().toList()));
            }
        }
    }

    private static String text(JsonNode v, String path, String source) {
        if (v == null || !v.isTextual() || v.asText().isBlank()) {
            throw fail(source, path, "must be a non-empty string");
        }
        return v.asText().trim();
    }

    private static IllegalArgumentException fail(String source, String path, String what) {
        return new IllegalArgumentException("reviewers " + source + ": " + (path.isEmpty() ? "" : path + " ") + what);
    }
}
