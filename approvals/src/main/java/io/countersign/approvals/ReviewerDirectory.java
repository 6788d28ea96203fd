package io.countersign.approvals;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The reviewers from the config and their bearer tokens, plus the names of agent identities (which
 * may never review). Only SHA-256 digests of tokens are kept; a lookup compares digests in
 * constant time.
 */
public final class ReviewerDirectory {

    private final Map<String, Reviewer> byTokenDigest;
    private final Map<String, Reviewer> byName;
    private final Set<String> agentNames;

    private ReviewerDirectory(Map<String, Reviewer> byTokenDigest, Set<String> agentNames) {
        this.byTokenDigest = Map.copyOf(byTokenDigest);
        Map<String, Reviewer> names = new HashMap<>();
        byTokenDigest.values().forEach(r -> names.put(r.name().toLowerCase(Locale.ROOT), r));
        this.byName = Map.copyOf(names);
        this.agentNames = Set.copyOf(agentNames);
    }

    public static Builder builder() {
        return new Builder();
    }

    public Optional<Reviewer> authenticate(String bearerToken) {
        if (bearerToken == null || bearerToken.isBlank()) {
            return Optional.empty();
        }
        byte[] digest = BindingHash.sha256(bearerToken.trim()).getBytes(StandardCharsets.US_ASCII);
        Reviewer found = null;
        for (Map.Entry<String, Reviewer> e : byTokenDigest.entrySet()) {
            if (MessageDigest.isEqual(digest, e.getKey().getBytes(StandardCharsets.US_ASCII))) {
                found = e.getValue();
            }
        }
        return Optional.ofNullable(found);
    }

    public Optional<Reviewer> byName(String name) {
        return Optional.ofNullable(byName.get(name.toLowerCase(Locale.ROOT)));
    }

    /** Every reviewer, once each (for channels that map their own user ids, such as Slack by e-mail). */
    public java.util.Collection<Reviewer> all() {
        return byName.values();
    }

    /** True when {@code name} is an agent identity (listed as one, or a reviewer entry of kind AGENT). */
    public boolean isAgent(String name) {
        String n = name.toLowerCase(Locale.ROOT);
        return agentNames.contains(n) || (byName.containsKey(n) && byName.get(n).kind() == Reviewer.Kind.AGENT);
    }

    public static final class Builder {
        private final Map<String, Reviewer> tokens = new HashMap<>();
        private final Set<String> agents = new HashSet<>();

        /** Adds a reviewer with a plain bearer token (as written in the config). */
        public Builder reviewer(Reviewer reviewer, String token) {
            return reviewerWithDigest(reviewer, BindingHash.sha256(token.trim()));
        }

        /** Adds a reviewer whose token is given as its hex SHA-256, so the config need not hold the token. */
        public Builder reviewerWithDigest(Reviewer reviewer, String tokenSha256) {
            if (tokens.putIfAbsent(tokenSha256.toLowerCase(Locale.ROOT), reviewer) != null) {
                throw new IllegalArgumentException("reviewer " + reviewer.name()
                        + ": the same bearer token is already given to another reviewer; every reviewer needs their own");
            }
            return this;
        }

        public Builder agent(String agentName) {
            agents.add(agentName.toLowerCase(Locale.ROOT));
            return this;
        }

        public ReviewerDirectory build() {
            return new ReviewerDirectory(tokens, agents);
        }
    }
}
