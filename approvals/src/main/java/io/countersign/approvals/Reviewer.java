package io.countersign.approvals;

import java.util.Set;

/**
 * Someone who may decide on requests, from the config. An {@link Kind#AGENT} identity is listed so
 * that it can be recognised and refused: agents never review.
 */
public record Reviewer(String name, String email, Set<String> groups, Kind kind) {

    public enum Kind { HUMAN, AGENT }

    public Reviewer {
        groups = Set.copyOf(groups);
        email = email == null ? "" : email;
        kind = kind == null ? Kind.HUMAN : kind;
    }

    public static Reviewer human(String name, String email, String... groups) {
        return new Reviewer(name, email, Set.of(groups), Kind.HUMAN);
    }

    public boolean inGroup(String group) {
        return groups.contains(group);
    }
}
