package io.countersign.approvals.oidc;

import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.KeyUse;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.text.ParseException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * The provider's signing keys, fetched from its {@code jwks_uri} and cached. A token signed with a
 * key id the cache does not know makes it fetch again (the provider rotated its keys), at most once
 * per {@code minRefresh} so that tokens with made-up key ids cannot make Countersign hammer the provider.
 */
public final class Jwks {

    private final HttpClient http;
    private final URI uri;
    private final Clock clock;
    private final Duration minRefresh;
    private volatile JWKSet keys = new JWKSet();
    private volatile Instant fetched = Instant.MIN;
    private volatile int fetches;

    public Jwks(HttpClient http, URI uri, Clock clock, Duration minRefresh) {
        this.http = http;
        this.uri = uri;
        this.clock = clock;
        this.minRefresh = minRefresh;
    }

    /** The key {@code kid} names (or the only signing key when the token names none); refreshes once when unknown. */
    public Optional<JWK> key(String kid) throws IOException, InterruptedException {
        Optional<JWK> k = find(kid);
        if (k.isPresent()) {
            return k;
        }
        synchronized (this) {
            k = find(kid);
            if (k.isEmpty() && !clock.instant().isBefore(fetched.plus(minRefresh))) {
                refresh();
                k = find(kid);
            }
        }
        return k;
    }

    /** How many times the key set was fetched (visible to tests of rotation). */
    public int fetches() {
        return fetches;
    }

    private Optional<JWK> find(String kid) {
        JWKSet set = keys;
        if (kid != null) {
            return Optional.ofNullable(set.getKeyByKeyId(kid));
        }
        List<JWK> signing = set.getKeys().stream().filter(j -> j.getKeyUse() == null || j.getKeyUse() == KeyUse.SIGNATURE).toList();
        return signing.size() == 1 ? Optional.of(signing.get(0)) : Optional.empty();
    }

    private void refresh() throws IOException, InterruptedException {
        fetched = clock.instant();
        fetches++;
        HttpResponse<String> resp = http.send(HttpRequest.newBuilder(uri).timeout(ProviderMetadata.TIMEOUT)
                .header("Accept", "application/json").GET().build(), HttpResponse.BodyHandlers.ofString());
        if (resp.statusCode() != 200) {
            throw new IOException("the provider's key set " + uri + " answered HTTP " + resp.statusCode());
        }
        try {
            keys = JWKSet.parse(resp.body());
        } catch (ParseException e) {
            throw new IOException("the provider's key set " + uri + " is not a JWK set: " + e.getMessage());
        }
    }
}
