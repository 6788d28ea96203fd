package io.countersign.approvals;

/**
 * How the reviewer behind a decision proved who they are. Carried on every {@link Decision} so the
 * audit can tell a decision by a person signed in with the identity provider from one made with a
 * shared static token (automation, the demo).
 */
public enum ReviewerAuth {
    /** Signed in with the company's OpenID Connect provider (console session or an ID token as bearer). */
    OIDC("oidc"),
    /** A bearer token written in the Countersign config. */
    STATIC_TOKEN("static-token"),
    /** A personal access token minted in the console by a reviewer signed in with OIDC. */
    PERSONAL_ACCESS_TOKEN("personal-access-token"),
    /** The chat platform vouched for the user (Slack's signed request, a Teams activity), mapped by e-mail. */
    CHAT_IDENTITY("chat-identity"),
    /** Not known: a decision read back from a store that does not keep it. */
    UNRECORDED("unrecorded");

    private final String label;

    ReviewerAuth(String label) {
        this.label = label;
    }

    /** The name used in JSON and the audit, e.g. {@code static-token}. */
    public String label() {
        return label;
    }

    /** What callers that do not say how the reviewer authenticated get: chat channels vouch for their users. */
    public static ReviewerAuth implied(Channel channel) {
        return channel == Channel.SLACK || channel == Channel.TEAMS ? CHAT_IDENTITY : UNRECORDED;
    }
}
