package io.countersign.approvals;

import static io.countersign.approvals.ApprovalServiceTest.ALICE;
import static io.countersign.approvals.ApprovalServiceTest.hold;
import static io.countersign.approvals.Facts.facts;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpServer;
import io.countersign.approvals.client.ApprovalsClient;
import io.countersign.approvals.client.ApprovalsClientException;
import io.countersign.approvals.client.ApprovalsRendering;
import io.countersign.approvals.rest.ApprovalJson;
import io.countersign.approvals.rest.ApprovalsApi;
import io.countersign.approvals.store.H2ApprovalStore;
import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RestApiTest {

    @TempDir
    Path dir;
    H2ApprovalStore store;
    ApprovalService service;
    HttpServer server;
    URI base;
    HttpClient http = HttpClient.newHttpClient();

    @BeforeEach
    void start() throws Exception {
        store = H2ApprovalStore.open(dir.resolve("approvals"));
        service = new ApprovalService(store, ApprovalServiceTest.directory(), ApprovalService.Options.defaults());
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        ApprovalsApi.mount(server, service);
        server.start();
        base = URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/");
    }

    @AfterEach
    void stop() {
        server.stop(0);
        service.close();
        store.close();
    }

    record Reply(int status, JsonNode json) {
        String error() {
            return json.path("error").asText();
        }
    }

    Reply call(String method, String path, String token, String body) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(base.resolve(path)).timeout(Duration.ofSeconds(10));
        if (token != null) {
            b.header("Authorization", "Bearer " + token);
        }
        b.method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.headers().firstValue("Content-Type")).hasValueSatisfying(v -> assertThat(v).startsWith("application/json"));
        return new Reply(r.statusCode(), ApprovalJson.MAPPER.readTree(r.body()));
    }

    HeldRequest holdEmail(String param) {
        return service.hold(facts("bot", Facts.emailRead()), hold(1, Duration.ofMinutes(5)),
                "SELECT email FROM customers WHERE id = $1", List.of(param), "10.1.2.3:4444");
    }

    @Test
    void authenticationIsRequiredAndErrorsAreJson() throws Exception {
        Reply none = call("GET", "api/requests", null, null);
        assertThat(none.status()).isEqualTo(401);
        assertThat(none.error()).contains("missing bearer token");
        Reply wrong = call("GET", "api/requests", "not-a-token", null);
        assertThat(wrong.status()).isEqualTo(401);
        assertThat(wrong.error()).contains("unknown bearer token");
        Reply me = call("GET", "api/me", "alice-token", null);
        assertThat(me.status()).isEqualTo(200);
        assertThat(me.json().path("name").asText()).isEqualTo("alice");

        assertThat(call("GET", "api/requests/apr-nope", "alice-token", null))
                .satisfies(r -> assertThat(r.status()).isEqualTo(404))
                .satisfies(r -> assertThat(r.error()).contains("apr-nope"));
        assertThat(call("GET", "api/requests?state=bogus", "alice-token", null))
                .satisfies(r -> assertThat(r.status()).isEqualTo(400))
                .satisfies(r -> assertThat(r.error()).contains("'bogus'").contains("pending"));
        assertThat(call("GET", "api/requests?limit=0", "alice-token", null).status()).isEqualTo(400);
        assertThat(call("GET", "api/nothing", "alice-token", null).status()).isEqualTo(404);
        assertThat(call("DELETE", "api/requests", "alice-token", null).status()).isEqualTo(405);
        String id = holdEmail("1").request().id();
        assertThat(call("POST", "api/requests/" + id + "/approve", "alice-token", "{not json"))
                .satisfies(r -> assertThat(r.status()).isEqualTo(400))
                .satisfies(r -> assertThat(r.error()).contains("not valid JSON"));
    }

    @Test
    void reviewRoundTripsOverHttp() throws Exception {
        HeldRequest held = holdEmail("42");
        String id = held.request().id();

        Reply list = call("GET", "api/requests?state=pending&agent=bot", "bob-token", null);
        assertThat(list.status()).isEqualTo(200);
        assertThat(list.json()).hasSize(1);
        JsonNode r = list.json().get(0);
        assertThat(r.path("id").asText()).isEqualTo(id);
        assertThat(r.path("state").asText()).isEqualTo("pending");
        assertThat(r.path("parameters").get(0).asText()).isEqualTo("42");
        assertThat(r.path("sensitiveColumns").get(0).asText()).isEqualTo("public.customers.email");
        assertThat(r.path("clientAddress").asText()).isEqualTo("10.1.2.3:4444");
        assertThat(call("GET", "api/requests?state=denied", "bob-token", null).json()).isEmpty();

        Reply owner = call("POST", "api/requests/" + id + "/approve", "olivia-token", "{}");
        assertThat(owner.status()).isEqualTo(403);
        assertThat(owner.error()).contains("olivia owns agent bot");
        Reply outsider = call("POST", "api/requests/" + id + "/approve", "sam-token", "{}");
        assertThat(outsider.status()).isEqualTo(403);
        assertThat(outsider.error()).contains("not in group 'dba'");
        Reply robot = call("POST", "api/requests/" + id + "/approve", "robot-token", "{}");
        assertThat(robot.status()).isEqualTo(403);
        Reply noComment = call("POST", "api/requests/" + id + "/deny", "bob-token", "{}");
        assertThat(noComment.status()).isEqualTo(400);
        assertThat(noComment.error()).contains("needs a comment");

        Reply ok = call("POST", "api/requests/" + id + "/approve", "bob-token", "{\"comment\": \"looks fine\"}");
        assertThat(ok.status()).isEqualTo(200);
        assertThat(ok.json().path("state").asText()).isEqualTo("approved");
        assertThat(ok.json().path("decisions").get(0).path("channel").asText()).isEqualTo("api");
        assertThat(held.outcome().get(30, TimeUnit.SECONDS)).isInstanceOf(Outcome.Approved.class);

        Reply again = call("POST", "api/requests/" + id + "/approve", "alice-token", "{}");
        assertThat(again.status()).isEqualTo(409);
        assertThat(again.error()).contains("already approved");

        Reply grant = call("POST", "api/requests/" + id + "/grant", "alice-token", "{\"hours\": 2}");
        assertThat(grant.status()).isEqualTo(201);
        String grantId = grant.json().path("id").asText();
        assertThat(call("POST", "api/requests/" + id + "/grant", "alice-token", "{\"hours\": \"two\"}").status()).isEqualTo(400);
        Reply grants = call("GET", "api/grants", "alice-token", null);
        assertThat(grants.json()).hasSize(1);
        assertThat(grants.json().get(0).path("agent").asText()).isEqualTo("bot");
        Reply revoke = call("DELETE", "api/grants/" + grantId, "bob-token", null);
        assertThat(revoke.status()).isEqualTo(200);
        assertThat(revoke.json().path("revokedBy").asText()).isEqualTo("bob");
        assertThat(call("DELETE", "api/grants/" + grantId, "bob-token", null).status()).isEqualTo(409);
        assertThat(call("DELETE", "api/grants/grt-nope", "bob-token", null).status()).isEqualTo(404);
        assertThat(call("GET", "api/grants", "alice-token", null).json()).isEmpty();
        assertThat(call("GET", "api/grants?active=false", "alice-token", null).json()).hasSize(1);

        HeldRequest second = holdEmail("43");
        Reply deny = call("POST", "api/requests/" + second.request().id() + "/deny", "alice-token",
                "{\"comment\": \"not for bots\"}");
        assertThat(deny.status()).isEqualTo(200);
        Outcome.Denied denied = (Outcome.Denied) second.outcome().get(30, TimeUnit.SECONDS);
        assertThat(denied.reviewer()).isEqualTo("alice");
        assertThat(denied.reason()).isEqualTo("not for bots");
    }

    @Test
    void cliClientListsShowsAndDecides() throws Exception {
        HeldRequest held = holdEmail("7");
        HeldRequest other = holdEmail("8");
        ApprovalsClient bob = new ApprovalsClient(base, "bob-token");
        List<ApprovalRequest> pending = bob.list(RequestState.PENDING, "bot", 10);
        assertThat(pending).extracting(ApprovalRequest::id).containsExactlyInAnyOrder(held.request().id(), other.request().id());
        ApprovalRequest shown = bob.show(held.request().id());
        assertThat(shown.sql()).isEqualTo(held.request().sql());
        assertThat(shown.bindingHash()).isEqualTo(held.request().bindingHash());
        String table = ApprovalsRendering.requestsTable(pending, Instant.now());
        assertThat(table.lines().findFirst().orElseThrow()).startsWith("ID").contains("STATE").contains("SQL");
        assertThat(table).contains(held.request().id()).contains("pending").contains("high").contains("0/1");
        assertThat(ApprovalsRendering.requestDetail(shown)).contains("$1 = 7").contains("sensitive:  public.customers.email");
        assertThat(ApprovalJson.MAPPER.readTree(ApprovalsRendering.requestsJson(pending))).hasSize(2);

        ApprovalRequest approved = bob.approve(held.request().id(), "ok");
        assertThat(approved.state()).isEqualTo(RequestState.APPROVED);
        assertThat(approved.decisions()).singleElement().satisfies(d -> assertThat(d.channel()).isEqualTo(Channel.CLI));
        assertThat(held.outcome().get(30, TimeUnit.SECONDS)).isInstanceOf(Outcome.Approved.class);

        assertThatThrownBy(() -> bob.deny(other.request().id(), null)).isInstanceOf(ApprovalsClientException.class)
                .hasMessageContaining("needs a comment").hasMessageContaining("HTTP 400");
        assertThatThrownBy(() -> new ApprovalsClient(base, "olivia-token").approve(other.request().id(), ""))
                .isInstanceOf(ApprovalsClientException.class)
                .satisfies(e -> assertThat(((ApprovalsClientException) e).status()).isEqualTo(403));
        Grant g = bob.grant(other.request().id(), 1.5);
        assertThat(g.expires()).isAfter(Instant.now().plus(Duration.ofMinutes(85)));
        assertThat(bob.grants(true)).extracting(Grant::id).containsExactly(g.id());
        assertThat(ApprovalsRendering.grantsTable(bob.grants(true), Instant.now())).contains(g.id()).contains("active");
        assertThat(bob.revoke(g.id()).revokedBy()).isEqualTo("bob");
        assertThat(bob.grants(true)).isEmpty();
        assertThatThrownBy(() -> new ApprovalsClient(URI.create("http://127.0.0.1:1/"), "x").list(null, null, 5))
                .hasMessageContaining("cannot reach the approvals API");
    }

    @Test
    void eventsStreamEveryChange() throws Exception {
        HttpRequest req = HttpRequest.newBuilder(base.resolve("api/events")).header("Authorization", "Bearer alice-token").build();
        HttpResponse<InputStream> resp = http.send(req, HttpResponse.BodyHandlers.ofInputStream());
        assertThat(resp.statusCode()).isEqualTo(200);
        assertThat(resp.headers().firstValue("Content-Type").orElseThrow()).startsWith("text/event-stream");
        BufferedReader lines = new BufferedReader(new InputStreamReader(resp.body(), StandardCharsets.UTF_8));
        assertThat(lines.readLine()).isEqualTo(": connected");
        CompletableFuture<List<String>> seen = CompletableFuture.supplyAsync(() -> {
            List<String> data = new java.util.ArrayList<>();
            try {
                String line;
                while (data.size() < 3 && (line = lines.readLine()) != null) {
                    if (line.startsWith("data: ")) {
                        data.add(line.substring(6));
                    }
                }
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
            return data;
        });
        HeldRequest held = holdEmail("1");
        service.decide(held.request().id(), ALICE, Verdict.APPROVE, "", Channel.CONSOLE);
        List<String> data = seen.get(30, TimeUnit.SECONDS);
        assertThat(data).hasSize(3);
        assertThat(ApprovalJson.MAPPER.readTree(data.get(0)).path("type").asText()).isEqualTo("RequestCreated");
        assertThat(ApprovalJson.MAPPER.readTree(data.get(0)).path("request").path("id").asText()).isEqualTo(held.request().id());
        assertThat(ApprovalJson.MAPPER.readTree(data.get(1)).path("type").asText()).isEqualTo("DecisionRecorded");
        assertThat(ApprovalJson.MAPPER.readTree(data.get(2)).path("request").path("state").asText()).isEqualTo("approved");
        resp.body().close();
    }
}
