package io.countersign.approvals.rest;

import com.sun.net.httpserver.HttpExchange;
import io.countersign.approvals.Reviewer;
import io.countersign.approvals.ReviewerAuth;
import io.countersign.approvals.ReviewerDirectory;

/**
 * Who is calling the approvals API. The default knows the config's static bearer tokens; with OIDC
 * configured, {@code io.countersign.approvals.oidc} adds console sessions, ID tokens and personal
 * access tokens.
 */
@FunctionalInterface
public interface ReviewerAuthenticator {

    /**
     * The authenticated caller.
     *
     * @param csrf for a cookie session, the token that must come back in {@value #CSRF_HEADER} with every
     *             state-changing request; null for bearer tokens (a browser never attaches those by itself)
     */
    record Caller(Reviewer reviewer, ReviewerAuth auth, String csrf) {}

    String CSRF_HEADER = "X-CSRF-Token";

    /** Refused: the status (401 or 403) and a message that says what to do. */
    final class Refused extends RuntimeException {
        private final int status;
        private final String challenge;

        public Refused(int status, String message, String challenge) {
            super(message, null, false, false);
            this.status = status;
            this.challenge = challenge;
        }

        public int status() {
            return status;
        }

        /** The WWW-Authenticate value to send, or null. */
        public String challenge() {
            return challenge;
        }
    }

    /** Returns the caller or throws {@link Refused}. */
    Caller authenticate(HttpExchange ex);

    /** Bearer tokens from the config only: how the API worked before OIDC, and still works without it. */
    static ReviewerAuthenticator staticTokens(ReviewerDirectory directory) {
        return ex -> {
            String token = bearer(ex);
            if (token == null) {
                throw new Refused(401, "missing bearer token: send 'Authorization: Bearer <token>' with a reviewer token from the config",
                        "Bearer realm=\"countersign\"");
            }
            return directory.authenticate(token).map(r -> new Caller(r, ReviewerAuth.STATIC_TOKEN, null))
                    .orElseThrow(() -> new Refused(401, "unknown bearer token: it matches no reviewer in the config",
                            "Bearer realm=\"countersign\", error=\"invalid_token\""));
        };
    }

    /** The bearer token of the request, or null when it sends none. */
    static String bearer(HttpExchange ex) {
        String header = ex.getRequestHeaders().getFirst("Authorization");
        if (header == null || !header.regionMatches(true, 0, "Bearer ", 0, 7)) {
            return null;
        }
        String t = header.substring(7).strip();
        return t.isEmpty() ? null : t;
    }
}
