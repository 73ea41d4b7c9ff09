package dev.kindling.server;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * Turns chat messages into a prompt. A model folder's template (tokenizer_config.json's {@code chat_template}, or
 * chat_template.jinja) is recognised by its markers as ChatML ({@code <|im_start|>role\ncontent<|im_end|>}) or Zephyr
 * ({@code <|role|>\ncontent</s>}); Jinja itself is not interpreted. Anything else uses the plain template:
 * <pre>
 * System: {content}
 * User: {content}
 * Assistant: {content}
 * Assistant:</pre>
 * one line per message, ending with the assistant's cue; generation stops where the model starts the next turn.
 */
enum ChatTemplate {
    PLAIN(List.of("\nUser:", "\nSystem:")),
    CHATML(List.of("<|im_end|>", "<|im_start|>")),
    ZEPHYR(List.of("</s>", "<|user|>"));

    /** A message of the conversation. */
    record Message(String role, String content) {}

    /** Stop sequences that end the assistant's turn, added to the request's own. */
    final List<String> stops;

    ChatTemplate(List<String> stops) {
        this.stops = stops;
    }

    String render(List<Message> messages) {
        StringBuilder sb = new StringBuilder();
        for (Message m : messages) {
            switch (this) {
                case PLAIN -> sb.append(Character.toUpperCase(m.role().charAt(0))).append(m.role().substring(1)).append(": ")
                        .append(m.content()).append('\n');
                case CHATML -> sb.append("<|im_start|>").append(m.role()).append('\n').append(m.content()).append("<|im_end|>\n");
                case ZEPHYR -> sb.append("<|").append(m.role()).append("|>\n").append(m.content()).append("</s>\n");
            }
        }
        sb.append(switch (this) {
            case PLAIN -> "Assistant:";
            case CHATML -> "<|im_start|>assistant\n";
            case ZEPHYR -> "<|assistant|>\n";
        });
        return sb.toString();
    }

    /** The template a model folder asks for (PLAIN when it has none or one that is not recognised). */
    static ChatTemplate of(Path dir) throws IOException {
        String template = null;
        Path jinja = dir.resolve("chat_template.jinja"), config = dir.resolve("tokenizer_config.json");
        if (Files.isRegularFile(jinja)) template = Files.readString(jinja);
        else if (Files.isRegularFile(config)) {
            Map<?, ?> m = JsonBody.MAPPER.readValue(config.toFile(), Map.class);
            if (m.get("chat_template") instanceof String s) template = s;
        }
        if (template == null) return PLAIN;
        if (template.contains("<|im_start|>")) return CHATML;
        if (template.contains("<|user|>") && template.contains("<|assistant|>")) return ZEPHYR;
        return PLAIN;
    }
}
