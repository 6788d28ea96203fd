package io.countersign.server.oidc;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import no.nav.security.mock.oauth2.MockOAuth2Server;
import no.nav.security.mock.oauth2.http.OAuth2HttpRequest;
import no.nav.security.mock.oauth2.http.OAuth2HttpResponse;
import no.nav.security.mock.oauth2.http.Route;
import okhttp3.Headers;

/**
 * The OAuth 2.0 device authorization grant (RFC 8628) added to mock-oauth2-server through its
 * public extension point (additional routes, which it consults before its own), because version
 * 2.1.10 does not ship one. While {@link #offer} is on, the provider's discovery document
 * advertises {@code device_authorization_endpoint}; the user "approves" by opening the
 * verification URI with the user code and who they are; the token endpoint answers
 * {@code authorization_pending} until then and afterwards an ID token the provider itself signs.
 */
final class DeviceFlowRoute implements Route {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String GRANT = "urn:ietf:params:oauth:grant-type:device_code";

    private record Pending(String clientId, String userCode, Map<String, Object> approvedClaims, String subject) {}

    private final Map<String, Pending> byDeviceCode = new ConcurrentHashMap<>();
    private final AtomicInteger counter = new AtomicInteger();
    volatile boolean offer;
    volatile String discovery; // the provider's own document, fetched by the test before offering
    volatile MockOAuth2Server provider;

    @Override
    public boolean match(OAuth2HttpRequest r) {
        if (!offer) {
            return false;
        }
        String path = r.getUrl().encodedPath();
        return path.endsWith("/.well-known/openid-configuration") || path.endsWith("/device_authorization") || path.endsWith("/device")
                || (path.endsWith("/token") && r.getMethod().equals("POST") && GRANT.equals(new OAuth2HttpRequest.Parameters(
                        r.getBody() == null ? "" : r.getBody()).get("grant_type")));
    }

    @Override
    public OAuth2HttpResponse invoke(OAuth2HttpRequest r) {
        String path = r.getUrl().encodedPath();
        String issuer = r.getUrl().scheme() + "://" + r.getUrl().host() + ":" + r.getUrl().port() + "/default";
        try {
            if (path.endsWith("/.well-known/openid-configuration")) {
                ObjectNode doc = (ObjectNode) JSON.readTree(discovery);
                doc.put("device_authorization_endpoint", issuer + "/device_authorization");
                return json(200, doc.toString());
            }
            if (path.endsWith("/device_authorization")) {
                var form = new OAuth2HttpRequest.Parameters(r.getBody());
                String deviceCode = "device-" + counter.incrementAndGet();
                String userCode = "WDJB-" + (1000 + counter.get());
                byDeviceCode.put(deviceCode, new Pending(form.get("client_id"), userCode, null, null));
                return json(200, JSON.createObjectNode().put("device_code", deviceCode).put("user_code", userCode)
                        .put("verification_uri", issuer + "/device").put("expires_in", 600).put("interval", 1).toString());
            }
            if (path.endsWith("/device")) {
                // the user's browser: user_code plus who signed in (a real provider shows its login page here)
                String userCode = r.getUrl().queryParameter("user_code");
                String subject = r.getUrl().queryParameter("sub");
                Map<String, Object> claims = Map.of("email", r.getUrl().queryParameter("email"),
                        "groups", List.of(r.getUrl().queryParameter("groups").split(",")));
                for (var e : byDeviceCode.entrySet()) {
                    if (e.getValue().userCode().equals(userCode)) {
                        e.setValue(new Pending(e.getValue().clientId(), userCode, claims, subject));
                        return json(200, "{\"approved\": true}");
                    }
                }
                return json(404, "{\"error\": \"unknown user code\"}");
            }
            var form = new OAuth2HttpRequest.Parameters(r.getBody());
            Pending p = byDeviceCode.get(form.get("device_code"));
            if (p == null || !p.clientId().equals(form.get("client_id"))) {
                return json(400, "{\"error\": \"invalid_grant\"}");
            }
            if (p.approvedClaims() == null) {
                return json(400, "{\"error\": \"authorization_pending\"}");
            }
            byDeviceCode.remove(form.get("device_code"));
            String idToken = provider.issueToken("default", p.subject(), p.clientId(), p.approvedClaims()).serialize();
            return json(200, JSON.createObjectNode().put("access_token", "at-" + counter.incrementAndGet()).put("token_type", "Bearer")
                    .put("expires_in", 3600).put("id_token", idToken).toString());
        } catch (Exception e) {
            return json(500, JSON.createObjectNode().put("error", "server_error").put("error_description", e.toString()).toString());
        }
    }

    private static OAuth2HttpResponse json(int status, String body) {
        return new OAuth2HttpResponse(Headers.of("Content-Type", "application/json"), status, body, null);
    }
}
