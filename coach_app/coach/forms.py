from flask_wtf import FlaskForm
from wtforms import EmailField, StringField
from wtforms.validators import DataRequired, Email, Length

from coach_app.forms import timezone_field


class InviteClientForm(FlaskForm):
    name = StringField("Client's name", validators=[DataRequired(), Length(max=200)])
    email = EmailField(
        "Client's email",
        validators=[DataRequired(), Email(check_deliverability=False), Length(max=254)],
    )
    timezone = timezone_field("Client's time zone")
