package dev.kindling.server;

import java.nio.file.Path;
import java.util.List;

/** A server in its own process for the signal test: prints its port, serves until SIGTERM, then prints STOPPED. */
public final class ServeMain {
    private ServeMain() {}

    public static void main(String[] args) throws Exception {
        try (var server = InferenceServer.start(ServerOptions.defaults(List.of(Path.of(args[0]))).withPort(0))) {
            System.out.println("PORT " + server.port());
            System.out.flush();
            server.closeOnSignals();
        }
        System.out.println("STOPPED");
    }
}
