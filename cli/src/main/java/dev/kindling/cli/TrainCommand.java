package dev.kindling.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code kindling train <recipe>}. */
@Command(name = "train", mixinStandardHelpOptions = true, description = "Train a model with a built-in recipe.",
        subcommands = {TrainMlpCommand.class, TrainCnnCommand.class, TrainGptCommand.class})
final class TrainCommand implements Runnable {
    @Override
    public void run() {
        new CommandLine(this).usage(System.out);
    }
}
