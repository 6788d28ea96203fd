package io.countersign.approvals.oidc;

import io.countersign.approvals.BindingHash;
import io.countersign.approvals.Reviewer;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Console sessions of reviewers signed in with the provider, kept in this process's memory: the
 * cookie carries a random 256-bit id, the map is keyed by its SHA-256 so a heap dump holds no
 * usable cookie. A session ends at its expiry or at logout; after a restart reviewers sign in again.
 */
public final class Sessions {

    /** One signed-in reviewer; {@code csrf} must come back in a header with every state-changing request. */
    public record Session(Reviewer reviewer, String csrf, Instant created, Instant expires, String idToken) {}

    private static final SecureRandom RANDOM = new SecureRandom();

    private final Map<String, Session> byDigest = new ConcurrentHashMap<>();
    private final Clock clock;
    private final Duration ttl;

    public Sessions(Clock clock, Duration ttl) {
        this.clock = clock;
        this.ttl = ttl;
    }

    /** Starts a session; returns the cookie value (the only place the id exists in clear). */
    public String create(Reviewer reviewer, String idToken) {
        purge();
        String id = random();
        Instant now = clock.instant();
        byDigest.put(BindingHash.sha256(id), new Session(reviewer, random(), now, now.plus(ttl), idToken));
        return id;
    }

    /** The live session for a cookie value; empty for unknown (forged), ended or expired ones. */
    public Optional<Session> find(String cookie) {
        if (cookie == null || cookie.isBlank()) {
            return Optional.empty();
        }
        String key = BindingHash.sha256(cookie);
        Session s = byDigest.get(key);
        if (s == null) {
            return Optional.empty();
        }
        if (!clock.instant().isBefore(s.expires())) {
            byDigest.remove(key);
            return Optional.empty();
        }
        return Optional.of(s);
    }

    public Optional<Session> end(String cookie) {
        return cookie == null ? Optional.empty() : Optional.ofNullable(byDigest.remove(BindingHash.sha256(cookie)));
    }

    public Duration ttl() {
        return ttl;
    }

    private void purge() {
        Instant now = clock.instant();
        byDigest.values().removeIf(s -> !now.isBefore(s.expires()));
    }

    static String random() {
        byte[] b = new byte[32];
        RANDOM.nextBytes(b);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
    }
}
