package io.countersign.approvals.oidc;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Optional;

/**
 * What the provider's discovery document ({@code <issuer>/.well-known/openid-configuration}) says
 * about where its endpoints are. The CLI reads the same document for the device flow.
 */
public record ProviderMetadata(
        String issuer,
        URI authorizationEndpoint,
        URI tokenEndpoint,
        URI jwksUri,
        Optional<URI> endSessionEndpoint,
        Optional<URI> deviceAuthorizationEndpoint) {

    private static final ObjectMapper JSON = new ObjectMapper();
    static final Duration TIMEOUT = Duration.ofSeconds(10);

    /** Fetches and checks the discovery document of {@code issuer}; fails naming the URL and what is wrong. */
    public static ProviderMetadata discover(HttpClient http, URI issuer) throws IOException, InterruptedException {
        String base = issuer.toString().endsWith("/") ? issuer.toString().substring(0, issuer.toString().length() - 1) : issuer.toString();
        URI url = URI.create(base + "/.well-known/openid-configuration");
        HttpResponse<String> resp = http.send(HttpRequest.newBuilder(url).timeout(TIMEOUT).header("Accept", "application/json").GET().build(),
                HttpResponse.BodyHandlers.ofString());
        if (resp.statusCode() != 200) {
            throw new IOException("OIDC discovery " + url + " answered HTTP " + resp.statusCode() + "; check approvals.oidc.issuer");
        }
        JsonNode doc;
        try {
            doc = JSON.readTree(resp.body());
        } catch (IOException e) {
            throw new IOException("OIDC discovery " + url + " did not return JSON; check approvals.oidc.issuer");
        }
        String declared = doc.path("issuer").asText("");
        // OpenID Connect Discovery 1.0 §4.3: the document's issuer must be the one asked for, exactly
        if (!declared.equals(issuer.toString()) && !declared.equals(base)) {
            throw new IOException("OIDC discovery " + url + " declares issuer '" + declared + "', not '" + issuer
                    + "'; set approvals.oidc.issuer to exactly '" + declared + "'");
        }
        return new ProviderMetadata(declared, endpoint(doc, "authorization_endpoint", url), endpoint(doc, "token_endpoint", url),
                endpoint(doc, "jwks_uri", url), optional(doc, "end_session_endpoint"), optional(doc, "device_authorization_endpoint"));
    }

    private static URI endpoint(JsonNode doc, String key, URI url) throws IOException {
        String v = doc.path(key).asText("");
        if (v.isBlank()) {
            throw new IOException("OIDC discovery " + url + " has no " + key + "; Countersign needs it to sign reviewers in");
        }
        return URI.create(v);
    }

    private static Optional<URI> optional(JsonNode doc, String key) {
        String v = doc.path(key).asText("");
        return v.isBlank() ? Optional.empty() : Optional.of(URI.create(v));
    }
}
