package dev.kindling.onnx;

/** Graph rewrites applied before compiling (see the rules below). */
final class Fusion {
    static final String DOMAIN = "dev.kindling";

    private Fusion() {}

    static Proto.Graph apply(Proto.Graph g, long opset) {
        return g;
    }
}
