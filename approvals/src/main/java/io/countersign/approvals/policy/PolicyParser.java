package io.countersign.approvals.policy;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.countersign.analysis.Category;
import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * Reads a policy from YAML, strictly: an unknown key, a wrong type or a bad value fails with the
 * key path (e.g. {@code rules[2].match.categories[0]}) and what is expected there.
 *
 * <pre>
 * defaults:                 # optional; every rule inherits these
 *   reviewers: dba
 *   hold-timeout: 15m
 *   approval-validity: 1h
 * rules:
 *   - name: privilege
 *     match: { categories: [PRIVILEGE, SESSION_AUTH] }
 *     action: hold           # allow | hold | deny
 *     tier: critical         # low | high | critical
 *     reviewers: security
 *     quorum: 2
 * </pre>
 */
final class PolicyParser {

    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
    private static final Pattern DURATION = Pattern.compile("(\\d+)\\s*(ms|s|m|h|d)");
    private static final Set<String> TOP = Set.of("version", "defaults", "rules");
    private static final Set<String> DEFAULT_KEYS = Set.of("reviewers", "quorum", "hold-timeout", "approval-validity", "tier");
    private static final Set<String> RULE_KEYS = Set.of("name", "match", "action", "tier", "reviewers", "quorum",
            "hold-timeout", "approval-validity", "reason", "slack-channel", "teams-channel", "run-as");
    private static final Set<String> MATCH_KEYS = Set.of("agents", "agent-groups", "databases", "categories", "tables",
            "columns", "kinds");

    private final String source;

    private PolicyParser(String source) {
        this.source = source;
    }

    static List<PolicyRule> parse(String yaml, String source) {
        return new PolicyParser(source).parse(yaml);
    }

    private List<PolicyRule> parse(String yaml) {
        JsonNode root;
        try {
            root = YAML.readTree(yaml);
        } catch (JsonProcessingException e) {
            throw fail("", "is not valid YAML: " + e.getOriginalMessage()
                    + (e.getLocation() == null ? "" : " at line " + e.getLocation().getLineNr()));
        }
        if (root == null || root.isMissingNode() || root.isNull()) {
            throw fail("", "is empty; expected a mapping with a 'rules' list");
        }
        requireObject(root, "(top level)", TOP);
        if (root.has("version") && !(root.get("version").isInt() && root.get("version").asInt() == 1)) {
            throw fail("version", "must be 1, the only policy format version");
        }
        Defaults defaults = new Defaults("dba", 1, Duration.ofMinutes(15), Duration.ofHours(1), Tier.HIGH);
        if (root.has("defaults")) {
            JsonNode d = root.get("defaults");
            requireObject(d, "defaults", DEFAULT_KEYS);
            defaults = new Defaults(
                    d.has("reviewers") ? text(d.get("reviewers"), "defaults.reviewers") : defaults.reviewers,
                    d.has("quorum") ? quorum(d.get("quorum"), "defaults.quorum") : defaults.quorum,
                    d.has("hold-timeout") ? duration(d.get("hold-timeout"), "defaults.hold-timeout") : defaults.holdTimeout,
                    d.has("approval-validity") ? duration(d.get("approval-validity"), "defaults.approval-validity") : defaults.validity,
                    d.has("tier") ? tier(d.get("tier"), "defaults.tier") : defaults.tier);
        }
        JsonNode rules = root.get("rules");
        if (rules == null || !rules.isArray()) {
            throw fail("rules", "is missing or not a list; expected a list of rules, e.g. 'rules: [ {name: all, action: allow} ]'");
        }
        List<PolicyRule> out = new ArrayList<>();
        Set<String> names = new HashSet<>();
        for (int i = 0; i < rules.size(); i++) {
            PolicyRule rule = rule(rules.get(i), "rules[" + i + "]", defaults);
            if (!names.add(rule.name())) {
                throw fail("rules[" + i + "].name", "'" + rule.name() + "' is used by an earlier rule; rule names must be unique");
            }
            out.add(rule);
        }
        return List.copyOf(out);
    }

    private record Defaults(String reviewers, int quorum, Duration holdTimeout, Duration validity, Tier tier) {}

    private PolicyRule rule(JsonNode node, String path, Defaults d) {
        requireObject(node, path, RULE_KEYS);
        if (!node.has("name")) {
            throw fail(path + ".name", "is missing; every rule needs a name (it is recorded with each request)");
        }
        String name = text(node.get("name"), path + ".name");
        if (!node.has("action")) {
            throw fail(path + ".action", "is missing; expected one of allow, hold, deny");
        }
        Action action = enumValue(Action.class, node.get("action"), path + ".action");
        RuleMatch match = node.has("match") ? match(node.get("match"), path + ".match") : RuleMatch.ANY;
        Tier tier = node.has("tier") ? tier(node.get("tier"), path + ".tier") : d.tier;
        String reviewers = node.has("reviewers") ? text(node.get("reviewers"), path + ".reviewers") : d.reviewers;
        int quorum = node.has("quorum") ? quorum(node.get("quorum"), path + ".quorum") : d.quorum;
        Duration timeout = node.has("hold-timeout") ? duration(node.get("hold-timeout"), path + ".hold-timeout") : d.holdTimeout;
        Duration validity = node.has("approval-validity")
                ? duration(node.get("approval-validity"), path + ".approval-validity") : d.validity;
        String reason = node.has("reason") ? text(node.get("reason"), path + ".reason") : null;
        if (action == Action.DENY && reason == null) {
            reason = "denied by policy rule '" + name + "'";
        }
        String slack = node.has("slack-channel") ? text(node.get("slack-channel"), path + ".slack-channel") : null;
        String teams = node.has("teams-channel") ? text(node.get("teams-channel"), path + ".teams-channel") : null;
        String runAs = node.has("run-as") ? text(node.get("run-as"), path + ".run-as") : null;
        if (runAs != null && action != Action.HOLD) {
            throw fail(path + ".run-as", "applies only to action hold: the elevated role exists only for a statement a reviewer approved");
        }
        if (runAs != null && !runAs.matches("[A-Za-z0-9_$@.-]+")) {
            throw fail(path + ".run-as", "'" + runAs + "' is not a role name; use letters, digits and _ $ @ . -");
        }
        return new PolicyRule(name, match, action, tier, reviewers, quorum, timeout, validity, reason, slack, teams, runAs);
    }

    private RuleMatch match(JsonNode node, String path) {
        requireObject(node, path, MATCH_KEYS);
        Set<Category> categories = EnumSet.noneOf(Category.class);
        List<JsonNode> categoryNodes = list(node, "categories", path);
        for (int i = 0; i < categoryNodes.size(); i++) {
            categories.add(enumValue(Category.class, categoryNodes.get(i), path + ".categories[" + i + "]"));
        }
        Set<String> kinds = new LinkedHashSet<>();
        List<JsonNode> kindNodes = list(node, "kinds", path);
        for (int i = 0; i < kindNodes.size(); i++) {
            kinds.add(text(kindNodes.get(i), path + ".kinds[" + i + "]").toUpperCase(Locale.ROOT));
        }
        return new RuleMatch(globs(node, "agents", path), globs(node, "agent-groups", path), globs(node, "databases", path),
                categories, globs(node, "tables", path), globs(node, "columns", path), kinds);
    }

    private List<Glob> globs(JsonNode node, String key, String path) {
        List<JsonNode> items = list(node, key, path);
        List<Glob> out = new ArrayList<>();
        for (int i = 0; i < items.size(); i++) {
            out.add(Glob.of(text(items.get(i), path + "." + key + "[" + i + "]")));
        }
        return out;
    }

    /** A single scalar is accepted as a one-element list. */
    private List<JsonNode> list(JsonNode node, String key, String path) {
        JsonNode v = node.get(key);
        if (v == null) {
            return List.of();
        }
        if (v.isArray()) {
            if (v.isEmpty()) {
                throw fail(path + "." + key, "is an empty list, which would match nothing; remove the key to match everything");
            }
            List<JsonNode> out = new ArrayList<>();
            v.forEach(out::add);
            return out;
        }
        if (v.isValueNode()) {
            return List.of(v);
        }
        throw fail(path + "." + key, "must be a list of strings or one string");
    }

    private void requireObject(JsonNode node, String path, Set<String> allowed) {
        if (!node.isObject()) {
            throw fail(path, "must be a mapping with keys " + sorted(allowed));
        }
        Iterator<String> it = node.fieldNames();
        while (it.hasNext()) {
            String key = it.next();
            if (!allowed.contains(key)) {
                String at = path.equals("(top level)") ? key : path + "." + key;
                throw fail(at, "is not a known key; expected one of " + sorted(allowed));
            }
        }
    }

    private String text(JsonNode v, String path) {
        if (v == null || !v.isTextual() || v.asText().isBlank()) {
            throw fail(path, "must be a non-empty string");
        }
        return v.asText().trim();
    }

    private int quorum(JsonNode v, String path) {
        if (!v.isInt() || v.asInt() < 1 || v.asInt() > 10) {
            throw fail(path, "must be a whole number from 1 to 10 (distinct reviewers needed), got '" + v.asText() + "'");
        }
        return v.asInt();
    }

    private Tier tier(JsonNode v, String path) {
        return enumValue(Tier.class, v, path);
    }

    private <E extends Enum<E>> E enumValue(Class<E> type, JsonNode v, String path) {
        String allowed = Arrays.stream(type.getEnumConstants()).map(e -> e.name().toLowerCase(Locale.ROOT))
                .collect(Collectors.joining(", "));
        if (v == null || !v.isTextual()) {
            throw fail(path, "must be one of " + allowed);
        }
        try {
            return Enum.valueOf(type, v.asText().trim().toUpperCase(Locale.ROOT).replace('-', '_'));
        } catch (IllegalArgumentException e) {
            throw fail(path, "'" + v.asText() + "' is not one of " + allowed);
        }
    }

    private Duration duration(JsonNode v, String path) {
        String s = v.isValueNode() ? v.asText().trim() : "";
        Duration d = null;
        Matcher m = DURATION.matcher(s);
        if (m.matches()) {
            long n = Long.parseLong(m.group(1));
            d = switch (m.group(2)) {
                case "ms" -> Duration.ofMillis(n);
                case "s" -> Duration.ofSeconds(n);
                case "m" -> Duration.ofMinutes(n);
                case "h" -> Duration.ofHours(n);
                default -> Duration.ofDays(n);
            };
        } else if (s.toUpperCase(Locale.ROOT).startsWith("P")) {
            try {
                d = Duration.parse(s);
            } catch (DateTimeParseException ignored) {
                // reported below
            }
        }
        if (d == null || d.isNegative() || d.isZero()) {
            throw fail(path, "'" + s + "' is not a positive duration; write e.g. 30s, 15m, 2h, 1d or PT15M");
        }
        return d;
    }

    private PolicyException fail(String path, String what) {
        return new PolicyException("policy " + source + ": " + (path.isEmpty() ? "" : path + " ") + what);
    }

    private static String sorted(Set<String> keys) {
        return keys.stream().sorted().collect(Collectors.joining(", "));
    }
}
