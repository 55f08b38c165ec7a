"""What a person reads after a run: the HTML run report and the model card of the pushed model."""
