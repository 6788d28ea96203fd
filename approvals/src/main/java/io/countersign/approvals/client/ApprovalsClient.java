package io.countersign.approvals.client;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.countersign.approvals.ApprovalRequest;
import io.countersign.approvals.Grant;
import io.countersign.approvals.RequestState;
import io.countersign.approvals.rest.ApprovalJson;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.StringJoiner;

/**
 * The REST API from the command line ({@code countersign approvals ...}): list, show, approve, deny,
 * grant, grants and revoke. Decisions are recorded with channel {@code cli}.
 */
public final class ApprovalsClient {

    private final URI base;
    private final String token;
    private final HttpClient http;

    /** {@code base} is the admin server's root, e.g. {@code http://127.0.0.1:9090/}. */
    public ApprovalsClient(URI base, String token) {
        String b = base.toString();
        this.base = URI.create(b.endsWith("/") ? b : b + "/");
        this.token = token;
        this.http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
    }

    public List<ApprovalRequest> list(RequestState state, String agent, int limit) {
        StringJoiner q = new StringJoiner("&", "?", "");
        q.add("state=" + (state == null ? "all" : state.name().toLowerCase(Locale.ROOT)));
        if (agent != null) {
            q.add("agent=" + URLEncoder.encode(agent, StandardCharsets.UTF_8));
        }
        q.add("limit=" + limit);
        List<ApprovalRequest> out = new ArrayList<>();
        call("GET", "api/requests" + q, null).forEach(n -> out.add(ApprovalJson.request(n)));
        return out;
    }

    /** The reviewer the token signs in as: {@code {"name", "email", "groups", "auth"}}. */
    public JsonNode me() {
        return call("GET", "api/me", null);
    }

    public ApprovalRequest show(String id) {
        return ApprovalJson.request(call("GET", "api/requests/" + path(id), null));
    }

    public ApprovalRequest approve(String id, String comment) {
        return ApprovalJson.request(call("POST", "api/requests/" + path(id) + "/approve", comment(comment)));
    }

    public ApprovalRequest deny(String id, String comment) {
        return ApprovalJson.request(call("POST", "api/requests/" + path(id) + "/deny", comment(comment)));
    }

    public Grant grant(String requestId, double hours) {
        ObjectNode body = ApprovalJson.MAPPER.createObjectNode().put("hours", hours);
        return ApprovalJson.grant(call("POST", "api/requests/" + path(requestId) + "/grant", body));
    }

    public List<Grant> grants(boolean activeOnly) {
        List<Grant> out = new ArrayList<>();
        call("GET", "api/grants?active=" + activeOnly, null).forEach(n -> out.add(ApprovalJson.grant(n)));
        return out;
    }

    public Grant revoke(String grantId) {
        return ApprovalJson.grant(call("DELETE", "api/grants/" + path(grantId), null));
    }

    private static ObjectNode comment(String comment) {
        ObjectNode n = ApprovalJson.MAPPER.createObjectNode();
        if (comment != null) {
            n.put("comment", comment);
        }
        return n;
    }

    private static String path(String id) {
        return URLEncoder.encode(id, StandardCharsets.UTF_8);
    }

    private JsonNode call(String method, String relative, JsonNode body) {
        URI uri = base.resolve(relative);
        HttpRequest.Builder req = HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(30))
                .header("Authorization", "Bearer " + token)
                .header("Accept", "application/json")
                .header("X-Countersign-Channel", "cli");
        if (body != null) {
            req.header("Content-Type", "application/json").method(method, HttpRequest.BodyPublishers.ofString(body.toString()));
        } else {
            req.method(method, HttpRequest.BodyPublishers.noBody());
        }
        HttpResponse<String> resp;
        try {
            resp = http.send(req.build(), HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new ApprovalsClientException(0, "cannot reach the approvals API at " + uri + ": " + e.getMessage()
                    + "; check --url and that Countersign's admin port is up", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ApprovalsClientException(0, "interrupted while calling " + uri, e);
        }
        JsonNode json;
        try {
            json = ApprovalJson.MAPPER.readTree(resp.body());
        } catch (IOException e) {
            throw new ApprovalsClientException(resp.statusCode(), method + " " + uri + " answered " + resp.statusCode()
                    + " with a body that is not JSON: " + abbreviate(resp.body()), e);
        }
        if (resp.statusCode() >= 400) {
            String message = json != null && json.hasNonNull("error") ? json.get("error").asText() : abbreviate(resp.body());
            throw new ApprovalsClientException(resp.statusCode(), message + " (HTTP " + resp.statusCode() + ")", null);
        }
        return json;
    }

    private static String abbreviate(String s) {
        return s == null ? "" : s.length() > 200 ? s.substring(0, 200) + "..." : s;
    }
}
