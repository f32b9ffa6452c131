"""Practice review: each practice has an owner and a review date, due on an interval and on civic events."""
