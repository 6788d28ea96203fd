package io.countersign.approvals.oidc;

import com.nimbusds.jwt.JWTClaimsSet;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import io.countersign.approvals.Reviewer;
import io.countersign.approvals.ReviewerAuth;
import io.countersign.approvals.ReviewerDirectory;
import io.countersign.approvals.rest.ReviewerAuthenticator;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Optional;
import java.util.function.BiConsumer;
import java.util.function.Predicate;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reviewer sign-in with an OpenID Connect provider, wired as one piece: the provider's metadata
 * (discovered on first use, so Countersign starts while the provider is down and static tokens keep
 * working), ID token validation, console sessions, personal access tokens, the {@code /auth/}
 * endpoints and the authenticator the REST API uses.
 *
 * <p>The API accepts, in this order: a bearer static token from the config ({@code static-token}), a
 * bearer personal access token ({@code personal-access-token}), a bearer ID token from the provider
 * for our client ids ({@code oidc}, as the CLI's device flow stores it), then the console's session
 * cookie ({@code oidc}, with CSRF checked by the API for state-changing requests).
 */
public final class Oidc implements ReviewerAuthenticator {

    private static final Logger LOG = LoggerFactory.getLogger(Oidc.class);
    static final String SESSION_COOKIE = "countersign_session";

    private final OidcSettings settings;
    private final Supplier<URI> redirectUrl;
    private final ReviewerDirectory directory;
    private final Predicate<String> isAgent;
    private final HttpClient http;
    private final Clock clock;
    private final Sessions sessions;
    private final PersonalAccessTokens tokens;
    private final ReviewerIdentities identities;
    private volatile Provider provider;

    /** The provider as discovered, with a validator over its keys. */
    record Provider(ProviderMetadata metadata, Jwks jwks, IdTokenValidator validator) {}

    /**
     * @param redirectUrl where the provider sends the browser back ({@code .../auth/callback}); asked when a sign-in starts
     * @param isAgent     true for an identity (e-mail, subject, user name) that is an agent; such users are refused
     * @param tokenFile   where personal access tokens are kept (hashed); null keeps them in memory
     */
    public Oidc(OidcSettings settings, Supplier<URI> redirectUrl, ReviewerDirectory directory, Predicate<String> isAgent,
                Path tokenFile, Clock clock) {
        this.settings = settings;
        this.redirectUrl = redirectUrl;
        this.directory = directory;
        this.isAgent = isAgent;
        this.clock = clock;
        this.http = HttpClient.newBuilder().connectTimeout(ProviderMetadata.TIMEOUT).followRedirects(HttpClient.Redirect.NEVER).build();
        this.sessions = new Sessions(clock, settings.sessionTtl());
        this.tokens = PersonalAccessTokens.open(tokenFile, clock);
        this.identities = new ReviewerIdentities(settings, directory, isAgent);
    }

    /** Mounts {@code /auth/} (sign-in, callback, session, logout, CLI metadata) and {@code /api/tokens}. */
    public void mount(BiConsumer<String, HttpHandler> mount) {
        mount.accept("/auth/", new OidcHandler(this));
        mount.accept("/api/tokens", new TokensApi(this));
    }

    public OidcSettings settings() {
        return settings;
    }

    URI redirectUrl() {
        return redirectUrl.get();
    }

    boolean secureCookies() {
        return "https".equalsIgnoreCase(redirectUrl().getScheme());
    }

    HttpClient http() {
        return http;
    }

    Clock clock() {
        return clock;
    }

    Sessions sessions() {
        return sessions;
    }

    PersonalAccessTokens tokens() {
        return tokens;
    }

    ReviewerIdentities identities() {
        return identities;
    }

    /** The provider's metadata and validator, discovering them on first use (and again after a failure). */
    Provider provider() throws IOException {
        Provider p = provider;
        if (p != null) {
            return p;
        }
        synchronized (this) {
            if (provider == null) {
                try {
                    ProviderMetadata m = ProviderMetadata.discover(http, settings.issuer());
                    Jwks jwks = new Jwks(http, m.jwksUri(), clock, Duration.ofSeconds(30));
                    provider = new Provider(m, jwks, new IdTokenValidator(m.issuer(), settings.audiences(), jwks, clock));
                    LOG.info("OIDC: provider {} discovered (device flow {})", m.issuer(),
                            m.deviceAuthorizationEndpoint().isPresent() ? "offered" : "not offered");
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IOException("interrupted while reading the provider's discovery document");
                } catch (IOException e) {
                    throw new IOException("the identity provider " + settings.issuer() + " cannot be reached: " + e.getMessage(), e);
                }
            }
            return provider;
        }
    }

    /** Discovers the provider now, logging instead of failing: sign-in is then ready on the first click. */
    public void warmUp() {
        try {
            provider().jwks().key(null);
        } catch (IOException e) {
            LOG.warn("OIDC: {}; reviewers cannot sign in with it until it answers (static tokens still work)", e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public Caller authenticate(HttpExchange ex) {
        String bearer = ReviewerAuthenticator.bearer(ex);
        if (bearer != null) {
            return bearer(bearer);
        }
        String cookie = Http.cookies(ex).get(SESSION_COOKIE);
        if (cookie != null) {
            Sessions.Session s = sessions.find(cookie).orElseThrow(() -> new Refused(401,
                    "your console session has expired or is not known here (signed out, Countersign restarted, or a forged cookie);"
                            + " sign in again at /auth/login", null));
            return new Caller(s.reviewer(), ReviewerAuth.OIDC, s.csrf());
        }
        throw new Refused(401, "not signed in: sign in with the identity provider at /console/, or send 'Authorization: Bearer <token>'"
                + " (a reviewer token from the config, a personal access token, or the token 'countersign login' stores)",
                "Bearer realm=\"countersign\"");
    }

    private Caller bearer(String token) {
        Optional<Reviewer> configured = directory.authenticate(token);
        if (configured.isPresent()) {
            return new Caller(configured.get(), ReviewerAuth.STATIC_TOKEN, null);
        }
        if (token.startsWith(PersonalAccessTokens.PREFIX)) {
            PersonalAccessTokens.Pat pat = tokens.authenticate(token).orElseThrow(() -> new Refused(401,
                    "personal access token refused: it is unknown, expired or revoked; mint a new one in the console",
                    "Bearer realm=\"countersign\", error=\"invalid_token\""));
            Reviewer r = pat.asReviewer();
            if (isAgent.test(r.name()) || isAgent.test(r.email()) || directory.isAgent(r.name())) {
                throw new Refused(403, r.name() + " is an agent identity; agents can never act as reviewers", null);
            }
            return new Caller(r, ReviewerAuth.PERSONAL_ACCESS_TOKEN, null);
        }
        if (token.chars().filter(c -> c == '.').count() == 2) {
            return new Caller(idTokenReviewer(token), ReviewerAuth.OIDC, null);
        }
        throw new Refused(401, "unknown bearer token: it is not a reviewer token from the config, a personal access token, or an ID token"
                + " from " + settings.issuer(), "Bearer realm=\"countersign\", error=\"invalid_token\"");
    }

    private Reviewer idTokenReviewer(String token) {
        Provider p;
        try {
            p = provider();
        } catch (IOException e) {
            throw new Refused(503, e.getMessage() + "; use a personal access token or a static token meanwhile", null);
        }
        JWTClaimsSet claims;
        try {
            claims = p.validator().validate(token, null, null);
        } catch (TokenRejectedException e) {
            throw new Refused(401, "ID token refused (" + e.check().name().toLowerCase(java.util.Locale.ROOT).replace('_', ' ') + "): "
                    + e.getMessage() + "; run 'countersign login' again",
                    "Bearer realm=\"countersign\", error=\"invalid_token\"");
        }
        try {
            return identities.reviewer(claims);
        } catch (ReviewerIdentities.RefusedException e) {
            throw new Refused(403, e.getMessage(), null);
        }
    }
}
