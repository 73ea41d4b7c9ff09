package dev.kindling.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code kindling} command. */
@Command(name = "kindling", mixinStandardHelpOptions = true, version = "kindling 0.1.0",
        description = "Pure-Java deep learning: train, generate, embed, benchmark.",
        subcommands = {TrainCommand.class, GenerateCommand.class, EmbedCommand.class, QuantizeCommand.class, BenchCommand.class,
                LaunchCommand.class, ServeCommand.class})
public final class Main implements Runnable {
    @Override
    public void run() {
        new CommandLine(this).usage(System.out);
    }

    public static void main(String[] args) {
        System.setProperty("java.awt.headless", "true");
        System.exit(run(args));
    }

    /** Runs the command line and returns the exit code (tests call this instead of main). */
    public static int run(String... args) {
        // curves.png is drawn off-screen; without this a machine with a DISPLAY variable but no X server fails
        if (System.getProperty("java.awt.headless") == null) System.setProperty("java.awt.headless", "true");
        CommandLine cl = new CommandLine(new Main());
        cl.setExecutionExceptionHandler((ex, commandLine, parseResult) -> {
            // Bad input is the user's to fix: one clear line, no stack trace (KINDLING_DEBUG=1 shows it).
            if (System.getenv("KINDLING_DEBUG") != null) ex.printStackTrace();
            String msg = ex.getMessage() == null ? ex.toString() : ex.getMessage();
            commandLine.getErr().println("kindling " + commandLine.getCommandName() + ": " + msg);
            return ex instanceof IllegalArgumentException || ex instanceof java.io.IOException
                    || ex instanceof java.io.UncheckedIOException || ex instanceof IllegalStateException ? 2 : 1;
        });
        return cl.execute(args);
    }
}
