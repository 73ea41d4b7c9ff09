package dev.kindling.server;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * The tiny model folders of the tests, written once per test JVM by {@link TestModels}, and HTTP helpers.
 */
final class Fixtures {
    static final Path ROOT = Path.of("target", "test-models");
    static final Path GPT = ROOT.resolve("tiny-gpt"), BERT = ROOT.resolve("tiny-bert");
    private static boolean made;

    private Fixtures() {}

    static synchronized void make() {
        if (made) return;
        try {
            TestModels.writeGpt(GPT, 512, 2, 2, 32, 11);
            TestModels.writeBert(BERT, 16, 2, 2, 64, 12);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        made = true;
    }

    /** Options for a test server on a free port with both tiny models. */
    static ServerOptions options() {
        make();
        return ServerOptions.defaults(List.of(GPT, BERT)).withPort(0).withMaxBatch(8).withMaxQueue(64);
    }

    static final HttpClient CLIENT = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(10)).build();

    static HttpResponse<String> post(int port, String path, String body, String... headers) {
        return send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).POST(HttpRequest.BodyPublishers.ofString(body)), headers);
    }

    static HttpResponse<String> postBytes(int port, String path, byte[] body, String... headers) {
        return send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).POST(HttpRequest.BodyPublishers.ofByteArray(body)), headers);
    }

    static HttpResponse<String> get(int port, String path, String... headers) {
        return send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).GET(), headers);
    }

    private static HttpResponse<String> send(HttpRequest.Builder b, String... headers) {
        b.timeout(Duration.ofSeconds(60)).header("Content-Type", "application/json");
        for (int i = 0; i < headers.length; i += 2) b.setHeader(headers[i], headers[i + 1]);
        try {
            return CLIENT.send(b.build(), HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
