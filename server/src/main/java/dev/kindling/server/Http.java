package dev.kindling.server;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.helidon.http.HeaderNames;
import io.helidon.http.Status;
import io.helidon.webserver.http.ServerRequest;
import io.helidon.webserver.http.ServerResponse;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;

/** Request bodies with a size limit, JSON responses and OpenAI-style error objects. */
final class Http {
    private Http() {}

    /**
     * A refused body up to this size is still read (and dropped) so that the client, which is still sending it, gets
     * the 413 instead of a broken connection; a larger one is cut off.
     */
    static final long DRAIN_LIMIT = 16 << 20;

    /**
     * The whole body, refusing more than {@code limit} bytes: from Content-Length before reading, otherwise while
     * reading.
     */
    static byte[] body(ServerRequest req, long limit) {
        var declared = req.headers().first(HeaderNames.CONTENT_LENGTH);
        long n = -1;
        if (declared.isPresent()) {
            try {
                n = Long.parseLong(declared.get().trim());
            } catch (NumberFormatException e) {
                throw ApiError.invalid(null, "the Content-Length header '" + EmbeddingsEndpoint.clip(declared.get()) + "' is not a number");
            }
            if (n > DRAIN_LIMIT) throw ApiError.tooLarge(limit);
        }
        if (!req.content().hasEntity()) return new byte[0];
        try (InputStream in = req.content().inputStream()) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            byte[] buf = new byte[8192];
            long total = 0;
            for (int r; (r = in.read(buf)) >= 0; ) {
                total += r;
                if (total > DRAIN_LIMIT) break;
                if (total <= limit) out.write(buf, 0, r);
            }
            if (total > limit) throw ApiError.tooLarge(limit);
            return out.toByteArray();
        } catch (IOException | java.io.UncheckedIOException e) {
            throw ApiError.invalid(null, "the request body could not be read: " + e.getMessage());
        }
    }

    static void json(ServerResponse res, int status, Object body) {
        res.status(Status.create(status));
        res.header(HeaderNames.CONTENT_TYPE, "application/json");
        res.send(JsonBody.write(body));
    }

    static void text(ServerResponse res, String contentType, String body) {
        res.header(HeaderNames.CONTENT_TYPE, contentType);
        res.send(body.getBytes(StandardCharsets.UTF_8));
    }

    static ObjectNode errorObject(ApiError e) {
        ObjectNode root = JsonBody.MAPPER.createObjectNode();
        ObjectNode err = root.putObject("error");
        err.put("message", e.getMessage());
        err.put("type", e.type);
        err.put("param", e.param);
        err.put("code", e.code);
        return root;
    }

    static void error(ServerResponse res, ApiError e) {
        if (e.retryAfter > 0) res.header(HeaderNames.RETRY_AFTER, Integer.toString(e.retryAfter));
        // a body we refused to read (413) or a server going away must not leave the connection in doubt
        if (e.status == 413 || e.status == 503) res.header(HeaderNames.CONNECTION, "close");
        json(res, e.status, errorObject(e));
    }
}
