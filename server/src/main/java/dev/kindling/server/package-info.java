/**
 * {@code kindling serve}: an OpenAI-compatible HTTP service over Helidon SE. {@link dev.kindling.server.InferenceServer}
 * starts it from {@link dev.kindling.server.ServerOptions}; everything else (routes, validation, the continuous-batching
 * scheduler, the embedding batcher, metrics) is package-private.
 */
package dev.kindling.server;
