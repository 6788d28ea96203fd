package io.countersign.approvals.oidc;

import com.nimbusds.jwt.JWTClaimsSet;
import io.countersign.approvals.Reviewer;
import io.countersign.approvals.ReviewerDirectory;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Predicate;

/**
 * Turns a validated ID token into the reviewer who decides: the e-mail claim links the user to the
 * reviewer directory (so the same person has one name in the console, Slack and Teams), the groups
 * claim, mapped by {@code group-mapping}, gives the policy reviewer groups. Agent identities are refused
 * here, before a session exists; {@link io.countersign.approvals.ApprovalService} refuses them again
 * and keeps the owner from deciding on their own agent's requests.
 */
public final class ReviewerIdentities {

    /** The user may not sign in as a reviewer; the message says why. */
    public static final class RefusedException extends Exception {
        public RefusedException(String message) {
            super(message, null, false, false);
        }
    }

    private final OidcSettings settings;
    private final ReviewerDirectory directory;
    private final Predicate<String> isAgent;

    /** @param isAgent true for a name, e-mail or subject that belongs to an agent (the server passes its configured agents) */
    public ReviewerIdentities(OidcSettings settings, ReviewerDirectory directory, Predicate<String> isAgent) {
        this.settings = settings;
        this.directory = directory;
        this.isAgent = isAgent;
    }

    public Reviewer reviewer(JWTClaimsSet claims) throws RefusedException {
        String email = string(claim(claims.getClaims(), settings.emailClaim())).map(s -> s.strip().toLowerCase(Locale.ROOT)).orElse("");
        for (String id : identities(claims, email)) {
            if (isAgent.test(id) || directory.isAgent(id)) {
                throw new RefusedException("'" + id + "' is an agent identity; agents can never sign in as reviewers");
            }
        }
        if (email.isEmpty()) {
            throw new RefusedException("the provider's token has no '" + settings.emailClaim() + "' claim; reviewers are linked by"
                    + " e-mail: ask for the 'email' scope, or set approvals.oidc.email-claim to the claim that holds it");
        }
        if (Boolean.FALSE.equals(claims.getClaim("email_verified"))) {
            throw new RefusedException("the provider says e-mail " + email + " is not verified; verify it there and sign in again");
        }
        List<String> providerGroups = strings(claim(claims.getClaims(), settings.groupsClaim()));
        Set<String> groups = settings.mapGroups(providerGroups);
        Optional<Reviewer> listed = directory.all().stream().filter(r -> r.email().equalsIgnoreCase(email)).findFirst();
        if (listed.isPresent() && listed.get().kind() == Reviewer.Kind.AGENT) {
            throw new RefusedException(email + " belongs to agent identity " + listed.get().name() + "; agents can never review");
        }
        String name = listed.map(Reviewer::name).orElse(email);
        return new Reviewer(name, email, groups, Reviewer.Kind.HUMAN);
    }

    private static List<String> identities(JWTClaimsSet claims, String email) {
        List<String> out = new ArrayList<>();
        if (!email.isEmpty()) out.add(email);
        if (claims.getSubject() != null) out.add(claims.getSubject());
        for (String c : List.of("preferred_username", "upn", "name")) {
            Object v = claims.getClaim(c);
            if (v instanceof String s && !s.isBlank()) out.add(s);
        }
        return out;
    }

    /** A claim by a dotted path, so nested claims such as Keycloak's {@code realm_access.roles} can be named. */
    static Object claim(Map<String, Object> claims, String path) {
        Object at = claims;
        for (String part : path.split("\\.")) {
            if (!(at instanceof Map<?, ?> m)) {
                return claims.get(path); // a flat claim whose name contains dots (e.g. a URL-shaped claim)
            }
            at = m.get(part);
        }
        return at == null ? claims.get(path) : at;
    }

    private static Optional<String> string(Object v) {
        return v instanceof String s && !s.isBlank() ? Optional.of(s) : Optional.empty();
    }

    private static List<String> strings(Object v) {
        List<String> out = new ArrayList<>();
        if (v instanceof String s && !s.isBlank()) {
            out.add(s.strip());
        } else if (v instanceof List<?> l) {
            l.stream().filter(e -> e instanceof String s && !s.isBlank()).forEach(e -> out.add(((String) e).strip()));
        }
        return out;
    }
}
