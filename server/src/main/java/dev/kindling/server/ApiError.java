package dev.kindling.server;

/**
 * A request that cannot be served, answered with an OpenAI-style error object:
 * {@code {"error": {"message", "type", "param", "code"}}}.
 */
final class ApiError extends RuntimeException {
    final int status;
    final String type, param, code;
    /** Seconds for a Retry-After header, or 0 for none. */
    final int retryAfter;

    ApiError(int status, String type, String param, String code, String message, int retryAfter) {
        super(message);
        this.status = status;
        this.type = type;
        this.param = param;
        this.code = code;
        this.retryAfter = retryAfter;
    }

    /** 400: the named field (or the body when param is null) is wrong. */
    static ApiError invalid(String param, String message) {
        return new ApiError(400, "invalid_request_error", param, null, message, 0);
    }

    static ApiError notFound(String code, String param, String message) {
        return new ApiError(404, "not_found_error", param, code, message, 0);
    }

    static ApiError unauthorized(String message) {
        return new ApiError(401, "authentication_error", null, "invalid_api_key", message, 0);
    }

    static ApiError tooLarge(long limit) {
        return new ApiError(413, "invalid_request_error", null, "request_too_large",
                "the request body exceeds the server's limit of " + limit + " bytes (--max-body)", 0);
    }

    static ApiError queueFull(String model, int maxQueue) {
        return new ApiError(429, "rate_limit_error", null, "queue_full",
                "model '" + model + "' has " + maxQueue + " requests waiting (--max-queue); retry later", 1);
    }

    static ApiError shuttingDown() {
        return new ApiError(503, "server_error", null, "shutting_down", "the server is shutting down", 0);
    }

    static ApiError timeout(long millis) {
        return new ApiError(504, "timeout_error", null, "timeout", "the request did not finish within " + millis + " ms", 0);
    }

    static ApiError internal(String message) {
        return new ApiError(500, "server_error", null, null, message, 0);
    }
}
