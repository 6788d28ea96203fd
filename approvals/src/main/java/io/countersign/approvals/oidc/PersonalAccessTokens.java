package io.countersign.approvals.oidc;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.countersign.approvals.BindingHash;
import io.countersign.approvals.Reviewer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * Personal access tokens a reviewer signed in with the provider mints in the console for the CLI or
 * scripts. Only each token's SHA-256 is kept, in a JSON file readable by Countersign alone; a token
 * acts as the reviewer (name, e-mail, groups) as they were when it was minted, until it expires or
 * its owner revokes it.
 */
public final class PersonalAccessTokens {

    /** What is kept about one token; never the token itself. */
    public record Pat(String id, String label, String reviewer, String email, Set<String> groups, String sha256,
                      Instant created, Instant expires, Instant revoked) {
        public boolean activeAt(Instant now) {
            return revoked == null && now.isBefore(expires);
        }

        public Reviewer asReviewer() {
            return new Reviewer(reviewer, email, groups, Reviewer.Kind.HUMAN);
        }
    }

    /** A freshly minted token: {@code token} is shown once and never again. */
    public record Minted(String token, Pat pat) {}

    public static final String PREFIX = "csp_";
    public static final Duration MAX_LIFETIME = Duration.ofDays(365);
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path file;
    private final Clock clock;
    private final Map<String, Pat> byDigest = new LinkedHashMap<>();

    private PersonalAccessTokens(Path file, Clock clock) {
        this.file = file;
        this.clock = clock;
    }

    /** Opens (or starts) the token file; {@code file} null keeps tokens in memory only (tests). */
    public static PersonalAccessTokens open(Path file, Clock clock) {
        PersonalAccessTokens t = new PersonalAccessTokens(file, clock);
        if (file != null && Files.exists(file)) {
            try {
                for (JsonNode n : JSON.readTree(file.toFile())) {
                    Set<String> groups = new TreeSet<>();
                    n.path("groups").forEach(g -> groups.add(g.asText()));
                    Pat p = new Pat(n.path("id").asText(), n.path("label").asText(), n.path("reviewer").asText(), n.path("email").asText(),
                            groups, n.path("sha256").asText(), Instant.parse(n.path("created").asText()),
                            Instant.parse(n.path("expires").asText()),
                            n.path("revoked").isTextual() ? Instant.parse(n.path("revoked").asText()) : null);
                    t.byDigest.put(p.sha256(), p);
                }
            } catch (IOException | RuntimeException e) {
                throw new IllegalStateException("personal access token file " + file + " cannot be read (" + e.getMessage()
                        + "); fix or remove it (removing it revokes every personal access token)", e);
            }
        }
        return t;
    }

    public synchronized Minted mint(Reviewer reviewer, String label, Duration lifetime) {
        if (lifetime.isNegative() || lifetime.isZero() || lifetime.compareTo(MAX_LIFETIME) > 0) {
            throw new IllegalArgumentException("a personal access token lasts from 1 to 365 days; got " + lifetime.toDays() + " days");
        }
        String token = PREFIX + Sessions.random();
        Instant now = clock.instant();
        Pat p = new Pat("pat_" + Sessions.random().substring(0, 12), label == null || label.isBlank() ? "token" : label.strip(),
                reviewer.name(), reviewer.email(), reviewer.groups(), BindingHash.sha256(token), now, now.plus(lifetime), null);
        byDigest.put(p.sha256(), p);
        save();
        return new Minted(token, p);
    }

    /** The active token record for a presented bearer token. */
    public synchronized Optional<Pat> authenticate(String token) {
        if (token == null || !token.startsWith(PREFIX)) {
            return Optional.empty();
        }
        // a map lookup by digest: the digest of a 256-bit random secret leaks nothing useful through timing
        Pat p = byDigest.get(BindingHash.sha256(token.strip()));
        return p != null && p.activeAt(clock.instant()) ? Optional.of(p) : Optional.empty();
    }

    public synchronized List<Pat> of(String reviewer) {
        List<Pat> out = new ArrayList<>(byDigest.values().stream().filter(p -> p.reviewer().equalsIgnoreCase(reviewer)).toList());
        out.sort(Comparator.comparing(Pat::created).reversed());
        return out;
    }

    /** Revokes token {@code id} of {@code reviewer}; empty when they have no such token. */
    public synchronized Optional<Pat> revoke(String id, String reviewer) {
        for (Map.Entry<String, Pat> e : byDigest.entrySet()) {
            Pat p = e.getValue();
            if (p.id().equals(id) && p.reviewer().equalsIgnoreCase(reviewer)) {
                Pat r = p.revoked() != null ? p : new Pat(p.id(), p.label(), p.reviewer(), p.email(), p.groups(), p.sha256(), p.created(),
                        p.expires(), clock.instant());
                e.setValue(r);
                save();
                return Optional.of(r);
            }
        }
        return Optional.empty();
    }

    private void save() {
        if (file == null) {
            return;
        }
        ArrayNode out = JSON.createArrayNode();
        for (Pat p : byDigest.values()) {
            ObjectNode n = out.addObject();
            n.put("id", p.id()).put("label", p.label()).put("reviewer", p.reviewer()).put("email", p.email()).put("sha256", p.sha256())
                    .put("created", p.created().toString()).put("expires", p.expires().toString());
            p.groups().forEach(n.putArray("groups")::add);
            if (p.revoked() != null) {
                n.put("revoked", p.revoked().toString());
            }
        }
        try {
            Files.createDirectories(file.toAbsolutePath().getParent());
            Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
            Files.deleteIfExists(tmp);
            Files.createFile(tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            Files.write(tmp, JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(out));
            try {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write personal access tokens to " + file + ": " + e.getMessage(), e);
        }
    }
}
